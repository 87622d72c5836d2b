"""Finished calls per queue from stored call records, for today's and any interval's figures.

Layer: service (sync, run off the event loop). Must not import agent_console.
The sites' board reads today's calls every few seconds on every instance:
`FinishedToday` reads the day in full once, then only the records written since
(`call_records.written`, set by a trigger in commit order: migration 0026), counted by
the pure `TodayCount` into running tallies per site, keyed by (site, linkedid); a new
day starts over with a full read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from callqueue.metrics import FinishedCall, Tally
from callqueue.sites import DayFigures, day_tallies
from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tickets.models import CallRecord


def finished_calls(sessions: sessionmaker[Session], start: datetime, end: datetime,
                   queue: str | None = None, site: str | None = None) -> list[tuple[str, datetime, FinishedCall]]:
    """(queue, ended_at, call) for calls that ended in [start, end), oldest first; only
    `site`'s calls when given (a site's own wallboard figures)."""
    return [(q, ended, call) for _, q, ended, call in _finished(sessions, start, end, queue, site)]


def finished_by_site(sessions: sessionmaker[Session], start: datetime, end: datetime,
                     queue: str | None = None) -> dict[str, list[FinishedCall]]:
    """Site -> its calls that ended in [start, end), oldest first (the sites' board)."""
    out: dict[str, list[FinishedCall]] = {}
    for site, _, _, call in _finished(sessions, start, end, queue, None):
        out.setdefault(site, []).append(call)
    return out


def _finished(sessions: sessionmaker[Session], start: datetime, end: datetime, queue: str | None,
              site: str | None) -> list[tuple[str, str, datetime, FinishedCall]]:
    q = select(CallRecord).where(CallRecord.ended_at >= start, CallRecord.ended_at < end,
                                 CallRecord.outcome.is_not(None))
    if queue is not None:
        q = q.where(CallRecord.queue == queue)
    if site is not None:
        q = q.where(CallRecord.site == site)
    with sessions() as s:
        return [(r.site, r.queue, r.ended_at, FinishedCall(r.outcome or "", r.wait_seconds or 0.0,
                                                           r.talk_seconds or 0.0, r.answered_at is not None))
                for r in s.scalars(q.order_by(CallRecord.ended_at, CallRecord.id)) if r.ended_at is not None]


# --- today's calls per site, read incrementally (the sites' board) -----------------------


@dataclass(frozen=True, slots=True)
class Written:
    """A call record as the board needs it (read in full or because it was written)."""

    site: str
    linkedid: str
    id: int
    queue: str
    ended_at: datetime | None
    call: FinishedCall | None  # None: not finished (no outcome yet)


Key = tuple[str, str]  # (site, linkedid): a call record's identity


class TodayCount:
    """Today's finished calls of one queue (or all) as running tallies per site: a pure
    reducer over the records read (`apply`), so a read of the day costs what was written
    since, not the day (15,000 calls) again. Holds every record that counts, keyed by
    (site, linkedid); a record written again replaces what was held of it (its old call
    taken out of its site's tally, the new one added), one that no longer counts (moved
    to another day or queue, its outcome taken back) leaves. A call ending at or after
    `end` (a clock ahead of ours) is held but counted only once `end` passes it.

    `figures()` equals `day_figures(finished_by_site(...))` of the same records: the
    counts exactly, the sums of seconds up to float rounding (added in another order).
    A site's tally is counted again from its held calls only when the call taken out had
    its longest wait (a maximum cannot be taken back) or `end` moved backwards."""

    def __init__(self, start: datetime, queue: str | None, threshold: int = 25, short_abandon: int = 5) -> None:
        self.start, self.queue, self.threshold, self.short_abandon = start, queue, threshold, short_abandon
        self.held: dict[Key, Written] = {}  # those not `waiting` are counted in `tallies`
        self.waiting: set[Key] = set()  # the held calls not yet counted (ending at or after the last `end`)
        self.tallies: dict[str, Tally] = {}
        self.end: datetime | None = None
        self._figures: DayFigures | None = None  # of `tallies`, as last returned

    def counts(self, row: Written) -> bool:
        return (row.call is not None and row.ended_at is not None and row.ended_at >= self.start
                and (self.queue is None or row.queue == self.queue))

    def apply(self, rows: Iterable[Written], end: datetime) -> None:
        """Take in `rows` (records written since the last apply), then count every held
        call that ended before `end`."""
        stale: set[str] = set()
        for row in rows:
            key = (row.site, row.linkedid)
            old = self.held.pop(key, None)
            if old is not None and key not in self.waiting:  # counted: take it out
                assert old.call is not None
                self._figures = None
                if self.tallies[old.site].remove(old.call):
                    stale.add(old.site)
            self.waiting.discard(key)
            if self.counts(row):
                self.held[key] = row
                self.waiting.add(key)
        if self.end is not None and end < self.end:  # the clock went back: count every site again
            self.waiting = set(self.held)
            self.tallies.clear()
            stale.clear()
            self._figures = None
        self.end = end
        for key in [k for k in self.waiting if (self.held[k].ended_at or end) < end]:
            self.waiting.discard(key)
            row = self.held[key]
            assert row.call is not None
            if row.site not in stale:
                self._tally(row.site).add(row.call)
            self._figures = None
        for site in stale:  # its longest wait left: count it from its held calls
            fresh = self.tallies[site] = Tally(self.threshold, self.short_abandon)
            for key, row in self.held.items():
                if key[0] == site and key not in self.waiting:
                    assert row.call is not None
                    fresh.add(row.call)

    def figures(self) -> DayFigures:
        """Today's figures per site and in all; the same object while nothing changed."""
        if self._figures is None:
            self._figures = day_tallies({site: t for site, t in self.tallies.items() if t.calls},
                                        self.threshold, self.short_abandon)
        return self._figures

    def _tally(self, site: str) -> Tally:
        if site not in self.tallies:
            self.tallies[site] = Tally(self.threshold, self.short_abandon)
        return self.tallies[site]


def write_cursor(s: Session) -> int:
    """A value of `call_records.written` below which every write has ended (committed or
    rolled back), read BEFORE the rows it is the cursor for: PostgreSQL, the oldest
    transaction still running (`written` is the writing transaction's id); SQLite (one
    writer at a time, values growing in commit order) the highest value stored + 1."""
    if s.get_bind().dialect.name == "postgresql":
        return int(s.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one())
    return int(s.execute(select(func.coalesce(func.max(CallRecord.written), 0) + 1)).scalar_one())


def _written(sessions: sessionmaker[Session], where: ColumnElement[bool]) -> tuple[int, list[Written]]:
    """(the cursor for the next read, the rows `where` selects): the cursor is read first
    and in a statement of its own, so a write it counts as ended is in the rows read."""
    with sessions() as s:
        cursor = write_cursor(s)
        rows = s.execute(select(CallRecord.site, CallRecord.linkedid, CallRecord.id, CallRecord.queue,
                                CallRecord.ended_at, CallRecord.outcome, CallRecord.wait_seconds,
                                CallRecord.talk_seconds, CallRecord.answered_at).where(where)).all()
    return cursor, [Written(site, linkedid, id_, queue, ended,
                            None if outcome is None else FinishedCall(outcome, wait or 0.0, talk or 0.0,
                                                                      answered is not None))
                    for site, linkedid, id_, queue, ended, outcome, wait, talk, answered in rows]


class FinishedToday:
    """Today's figures per site for the sites' board, read incrementally: the day in full
    at its first read, then only what was written since the last, counted into running
    tallies (`TodayCount`). Its figures equal `day_figures(finished_by_site(sessions, start,
    end(), queue))` at every read (sums of seconds up to float rounding), but for a record
    deleted since the day's first read (only retention deletes records, those older than
    its days, never today's). Called off the loop, one call at a time."""

    def __init__(self, sessions: sessionmaker[Session], end: Callable[[], datetime], queue: str | None = None,
                 threshold: int = 25, short_abandon: int = 5) -> None:
        self.sessions, self.end, self.queue = sessions, end, queue
        self.threshold, self.short_abandon = threshold, short_abandon
        self.cursor = 0
        self.count: TodayCount | None = None

    def __call__(self, start: datetime) -> DayFigures:
        """Today's figures (the day beginning at `start`); the same object while nothing changed."""
        if self.count is None or start != self.count.start:  # the first read, or a new day: in full
            where = CallRecord.ended_at >= start
            if self.queue is not None:
                where = where & (CallRecord.queue == self.queue)
            cursor, rows = _written(self.sessions, where & CallRecord.outcome.is_not(None))
            self.count = TodayCount(start, self.queue, self.threshold, self.short_abandon)
        else:  # whatever was written since, wherever it ended: it may have left the day
            cursor, rows = _written(self.sessions, CallRecord.written >= self.cursor)
        self.cursor = cursor
        self.count.apply(rows, self.end())
        return self.count.figures()
