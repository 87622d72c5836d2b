"""Finished calls per queue from stored call records, for today's and any interval's figures.

Layer: service (sync, run off the event loop). Must not import agent_console.
The sites' board reads today's calls every few seconds on every instance:
`FinishedToday` reads the day in full once, then only the records written since
(`call_records.written`, set by a trigger in commit order: migration 0026), merged by
the pure `merge_finished` into what it holds, keyed by (site, linkedid); a new day
starts over with a full read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from callqueue.metrics import FinishedCall
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


def merge_finished(held: Mapping[Key, Written], rows: Iterable[Written], start: datetime,
                   queue: str | None) -> dict[Key, Written]:
    """`held` with `rows` (records written since) in: a record that counts (finished at or
    after `start`, of `queue` when given) replaces what was held of it, one that no longer
    counts (moved to another day or queue, its outcome taken back) leaves."""
    out = dict(held)
    for row in rows:
        key = (row.site, row.linkedid)
        if (row.call is not None and row.ended_at is not None and row.ended_at >= start
                and (queue is None or row.queue == queue)):
            out[key] = row
        else:
            out.pop(key, None)
    return out


def finished_lists(held: Mapping[Key, Written], end: datetime) -> dict[str, list[FinishedCall]]:
    """Site -> its held calls that ended before `end`, oldest first: what
    `finished_by_site` reads from the database."""
    out: dict[str, list[FinishedCall]] = {}
    for row in sorted(held.values(), key=lambda r: (r.ended_at, r.id)):
        if row.call is not None and row.ended_at is not None and row.ended_at < end:
            out.setdefault(row.site, []).append(row.call)
    return out


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
    """Today's finished calls per site for the sites' board (`today_calls`), read
    incrementally: the day in full at its first read, then only what was written since
    the last. Equal to `finished_by_site(sessions, start, end(), queue)` at every read,
    but for a record deleted since the day's first read (only retention deletes records,
    those older than its days, never today's). Called off the loop, one call at a time."""

    def __init__(self, sessions: sessionmaker[Session], end: Callable[[], datetime], queue: str | None = None) -> None:
        self.sessions, self.end, self.queue = sessions, end, queue
        self.start: datetime | None = None
        self.cursor = 0
        self.held: dict[Key, Written] = {}
        self.lists: dict[str, list[FinishedCall]] | None = None  # of `held`, as last returned
        self.later: datetime | None = None  # the first end of a held call left out of `lists` (not yet ended)

    def __call__(self, start: datetime) -> dict[str, list[FinishedCall]]:
        if start != self.start:  # the first read, or a new day: in full
            where = CallRecord.ended_at >= start
            if self.queue is not None:
                where = where & (CallRecord.queue == self.queue)
            cursor, rows = _written(self.sessions, where & CallRecord.outcome.is_not(None))
            self.held = merge_finished({}, rows, start, self.queue)
            self.start = start
            self.lists = None
        else:  # whatever was written since, wherever it ended: it may have left the day
            cursor, rows = _written(self.sessions, CallRecord.written >= self.cursor)
            if rows:
                self.held, self.lists = merge_finished(self.held, rows, start, self.queue), None
        self.cursor = cursor
        end = self.end()
        if self.lists is None or (self.later is not None and self.later < end):  # else: as last time
            self.lists = finished_lists(self.held, end)
            self.later = min((r.ended_at for r in self.held.values() if r.ended_at is not None and r.ended_at >= end),
                             default=None)
        return self.lists
