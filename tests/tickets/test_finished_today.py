"""The sites' board's today's figures read and counted incrementally (issue 15, item 6;
issue 13): after every kind of write (a new record, one written late for a call that
ended hours ago, an outcome set or taken back, a record moved to another day or queue,
a write whose transaction commits after the board's read) the incremental reader's
figures equal those of a full re-read (`day_figures(finished_by_site(...))`), and a new
day starts over. SQLite, and PostgreSQL with HOTLINE_TEST_DATABASE_URL. (The waits here
are whole seconds: their sums are exact in any order.)"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from callqueue.metrics import FinishedCall
from callqueue.sites import DayFigures, day_figures
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.db_fixture import db_sessions, wipe
from tickets.models import CallRecord
from tickets.reports import FinishedToday, TodayCount, Written, finished_by_site

START = datetime(2026, 12, 1, 23, tzinfo=UTC)  # midnight in Berlin
NOW = START + timedelta(hours=15)
END = NOW + timedelta(minutes=1)


@pytest.fixture()
def sessions(module_database_url: str) -> Iterator[sessionmaker[Session]]:
    with db_sessions(module_database_url) as made:
        wipe(made)
        yield made
        wipe(made)


def record(site: str, linkedid: str, ended: datetime | None, outcome: str | None = "answered",
           queue: str = "hotline", wait: float = 10.0) -> CallRecord:
    entered = (ended or NOW) - timedelta(seconds=100)
    return CallRecord(site=site, linkedid=linkedid, queue=queue, entered_at=entered, ended_at=ended,
                      answered_at=entered + timedelta(seconds=wait) if outcome == "answered" else None,
                      wait_seconds=wait, talk_seconds=90.0 if outcome == "answered" else None, outcome=outcome)


def full(sessions: sessionmaker[Session], start: datetime = START, end: datetime = END) -> DayFigures:
    return day_figures(finished_by_site(sessions, start, end, "hotline"))


def same_as_full(sessions: sessionmaker[Session], board: FinishedToday, start: datetime = START) -> None:
    assert board(start) == full(sessions, start)


def test_read_incrementally_equals_a_full_read(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.add_all([record("a", "a1", START + timedelta(hours=8)), record("a", "a2", START + timedelta(hours=9)),
                   record("a", "a3", START + timedelta(hours=10), outcome="abandoned", wait=40.0),
                   record("b", "b1", START + timedelta(hours=8, minutes=30)),
                   record("b", "b2", None, outcome=None),  # in progress
                   record("a", "old", START - timedelta(hours=2)),  # yesterday
                   record("a", "other", START + timedelta(hours=11), queue="vip")])
    board = FinishedToday(sessions, lambda: END, "hotline")
    first = board(START)
    assert first == full(sessions)
    assert sorted(first.sites) == ["a", "b"] and first.sites["a"].offered == 3
    assert board(START) is first  # nothing written: the same figures, not counted again

    with sessions.begin() as s:
        s.add(record("c", "c1", START + timedelta(hours=14)))  # a new call at a third site
        s.add(record("b", "late", START + timedelta(hours=1)))  # reconciled from queue_log hours later
        s.execute(update(CallRecord).where(CallRecord.linkedid == "b2").values(  # the call ended
            outcome="answered", ended_at=START + timedelta(hours=14, minutes=5), answered_at=NOW, talk_seconds=3.0))
        s.execute(update(CallRecord).where(CallRecord.linkedid == "a1").values(outcome="overflowed"))  # joined
        s.execute(update(CallRecord).where(CallRecord.linkedid == "a2").values(  # moved to yesterday
            ended_at=START - timedelta(minutes=5)))
        s.execute(update(CallRecord).where(CallRecord.linkedid == "other").values(queue="hotline"))
    same_as_full(sessions, board)
    with sessions.begin() as s:  # an ORM update; a record's outcome taken back
        rec = s.query(CallRecord).filter_by(site="b", linkedid="b1").one()
        rec.wait_seconds = 55.0
        s.execute(update(CallRecord).where(CallRecord.linkedid == "c1").values(outcome=None))
    same_as_full(sessions, board)
    figures = board(START)
    b = figures.sites["b"]  # b1 now waited 55 s, "late" and b2 10 s each; c1's outcome taken back
    assert (b.offered, b.answered, b.longest_wait) == (3, 3, 55.0) and "c" not in figures.sites


def test_a_write_committed_after_the_read_is_read_next_time(sessions: sessionmaker[Session]) -> None:
    """A writer's transaction open while the board reads (and, on PostgreSQL, another
    writer that began later committing before the read): its record is read once it commits."""
    with sessions.begin() as s:
        s.add(record("a", "a1", START + timedelta(hours=8)))
    board = FinishedToday(sessions, lambda: END, "hotline")
    same_as_full(sessions, board)
    with sessions() as slow:
        slow.add(record("b", "slow", START + timedelta(hours=9)))
        slow.flush()  # written, not committed
        if sessions.kw["bind"].dialect.name == "postgresql":  # SQLite: one writer at a time
            with sessions.begin() as quick:
                quick.add(record("c", "quick", START + timedelta(hours=10)))
        same_as_full(sessions, board)
        slow.commit()
    got = board(START)
    assert got == full(sessions)
    assert got.sites["b"].offered == 1


def test_a_new_day_starts_over(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.add_all([record("a", "a1", START + timedelta(hours=8)), record("a", "a2", START + timedelta(hours=23))])
    board = FinishedToday(sessions, lambda: END + timedelta(days=1), "hotline")
    assert board(START).sites["a"].offered == 2
    tomorrow = START + timedelta(days=1)
    with sessions.begin() as s:
        s.add(record("a", "a3", tomorrow + timedelta(hours=1)))
    assert board(tomorrow) == full(sessions, tomorrow, END + timedelta(days=1))
    assert board(tomorrow).sites["a"].offered == 1


def w(site: str, linkedid: str, hours: float, outcome: str | None = "answered", queue: str = "hotline",
      wait: float = 5.0) -> Written:
    call = None if outcome is None else FinishedCall(outcome, wait, 60.0, outcome == "answered")
    return Written(site, linkedid, 0, queue, START + timedelta(hours=hours), call)


def test_count_replaces_by_site_and_linkedid_and_drops_what_no_longer_counts() -> None:
    count = TodayCount(START, "hotline")
    count.apply([w("a", "x", 2), w("b", "x", 1), w("a", "y", 3, wait=30.0)], END)
    first = count.figures()
    assert first == day_figures({"a": [w("a", "x", 2).call, w("a", "y", 3, wait=30.0).call],  # type: ignore[list-item]
                                 "b": [w("b", "x", 1).call]})  # type: ignore[list-item]
    assert count.figures() is first  # nothing applied: the same figures
    # x at a abandoned, y (the longest wait) taken back, x at b moved to yesterday, z of another queue
    count.apply([w("a", "x", 2, "abandoned"), w("a", "y", 3, None), w("b", "x", -1), w("c", "z", 1, queue="vip")],
                END)
    assert count.figures() == day_figures({"a": [FinishedCall("abandoned", 5.0, 60.0, False)]})
    assert count.figures().sites["a"].longest_wait == 5.0  # counted again without y's 30 s


def test_count_holds_a_call_ending_after_the_end_and_counts_every_site_again_when_the_clock_goes_back() -> None:
    count = TodayCount(START, None)
    count.apply([w("a", "x", 1), w("a", "later", 5)], START + timedelta(hours=2))
    assert count.figures().total.offered == 1  # "later" ended after the end: not yet
    count.apply([], START + timedelta(hours=6))
    assert count.figures().total.offered == 2
    count.apply([], START + timedelta(hours=3))  # the clock went back an hour and more
    assert count.figures() == day_figures({"a": [w("a", "x", 1).call]})  # type: ignore[list-item]


def test_a_call_ending_after_the_end_is_counted_once_the_end_passes_it(sessions: sessionmaker[Session]) -> None:
    """A record stamped a little ahead of the reading clock (another site's clock): not
    counted until the end passes it, then counted without being written again."""
    with sessions.begin() as s:
        s.add_all([record("a", "a1", START + timedelta(hours=8)), record("b", "ahead", END + timedelta(seconds=30))])
    end = {"at": END}
    board = FinishedToday(sessions, lambda: end["at"], "hotline")
    assert board(START) == full(sessions) == day_figures({"a": [record_call()]})
    assert board(START) == day_figures({"a": [record_call()]})
    end["at"] = END + timedelta(minutes=1)
    assert board(START) == full(sessions, START, end["at"])
    assert board(START).sites["b"] == day_figures({"b": [record_call()]}).sites["b"]


def record_call() -> FinishedCall:
    return FinishedCall("answered", 10.0, 90.0, True)


@pytest.mark.parametrize("seed", range(20))
def test_count_after_a_random_mix_of_writes_equals_a_count_of_the_latest_records(seed: int) -> None:
    """New records, records written again (other outcome, wait, day, queue, or taken back),
    in batches with the end moving on (and once back): the running tallies equal a count
    of each record's latest version that counts, wherever the longest wait went."""
    rng = random.Random(seed)
    count, latest = TodayCount(START, "hotline"), {}
    end = START + timedelta(hours=6)
    for _ in range(30):
        rows = [w(rng.choice("ab"), f"c{rng.randrange(12)}", rng.uniform(-2, 12),
                  rng.choice(["answered", "abandoned", "timeout", "overflowed", None]),
                  rng.choice(["hotline", "hotline", "vip"]), float(rng.randrange(60)))
                for _ in range(rng.randrange(5))]
        latest.update({(r.site, r.linkedid): r for r in rows})
        end += timedelta(hours=rng.choice([0.5, 1, -3]) if rng.random() < 0.1 else 0.25)
        count.apply(rows, end)
        expected: dict[str, list[FinishedCall]] = {}
        for r in latest.values():
            if count.counts(r) and r.ended_at is not None and r.ended_at < end and r.call is not None:
                expected.setdefault(r.site, []).append(r.call)
        assert count.figures() == day_figures(expected)
