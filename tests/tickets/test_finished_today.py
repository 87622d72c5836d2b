"""The sites' board's today's calls read incrementally (issue 15, item 6): after every
kind of write (a new record, one written late for a call that ended hours ago, an
outcome set or taken back, a record moved to another day or queue, a write whose
transaction commits after the board's read) the incremental reader equals a full
re-read (`finished_by_site`), and a new day starts over. SQLite, and PostgreSQL with
HOTLINE_TEST_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from callqueue.metrics import FinishedCall
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.db_fixture import db_sessions, wipe
from tickets.models import CallRecord
from tickets.reports import FinishedToday, Written, finished_by_site, finished_lists, merge_finished

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


def same_as_full(sessions: sessionmaker[Session], board: FinishedToday, start: datetime = START) -> None:
    assert board(start) == finished_by_site(sessions, start, END, "hotline")


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
    assert first == finished_by_site(sessions, START, END, "hotline")
    assert sorted(first) == ["a", "b"] and len(first["a"]) == 3
    assert board(START) == first  # nothing written: nothing changes

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
    assert board(START)["b"][0] == FinishedCall("answered", 10.0, 90.0, True)  # "late", ended first


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
    assert got == finished_by_site(sessions, START, END, "hotline")
    assert len(got["b"]) == 1


def test_a_new_day_starts_over(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.add_all([record("a", "a1", START + timedelta(hours=8)), record("a", "a2", START + timedelta(hours=23))])
    board = FinishedToday(sessions, lambda: END + timedelta(days=1), "hotline")
    assert len(board(START)["a"]) == 2
    tomorrow = START + timedelta(days=1)
    with sessions.begin() as s:
        s.add(record("a", "a3", tomorrow + timedelta(hours=1)))
    assert board(tomorrow) == finished_by_site(sessions, tomorrow, END + timedelta(days=1), "hotline")
    assert len(board(tomorrow)["a"]) == 1


def test_merge_replaces_by_site_and_linkedid_and_drops_what_no_longer_counts() -> None:
    def w(site: str, linkedid: str, id_: int, hours: float, outcome: str | None = "answered",
          queue: str = "hotline") -> Written:
        call = None if outcome is None else FinishedCall(outcome, 5.0, 60.0, outcome == "answered")
        return Written(site, linkedid, id_, queue, START + timedelta(hours=hours), call)

    held = merge_finished({}, [w("a", "x", 1, 2), w("b", "x", 2, 1), w("a", "y", 3, 3)], START, "hotline")
    assert [c.outcome for c in finished_lists(held, END)["a"]] == ["answered", "answered"]
    held = merge_finished(held, [w("a", "x", 1, 2, "abandoned"), w("a", "y", 3, 3, None), w("b", "x", 2, -1),
                                 w("c", "z", 4, 1, queue="vip")], START, "hotline")
    assert finished_lists(held, END) == {"a": [FinishedCall("abandoned", 5.0, 60.0, False)]}
    assert finished_lists(held, START + timedelta(hours=1)) == {}  # ended after the end: not yet


def test_a_call_ending_after_the_end_is_counted_once_the_end_passes_it(sessions: sessionmaker[Session]) -> None:
    """A record stamped a little ahead of the reading clock (another site's clock): not
    counted until the end passes it, then counted without being written again."""
    with sessions.begin() as s:
        s.add_all([record("a", "a1", START + timedelta(hours=8)), record("b", "ahead", END + timedelta(seconds=30))])
    end = {"at": END}
    board = FinishedToday(sessions, lambda: end["at"], "hotline")
    assert board(START) == finished_by_site(sessions, START, END, "hotline") == {"a": [record_call()]}
    assert board(START) == {"a": [record_call()]}
    end["at"] = END + timedelta(minutes=1)
    assert board(START) == finished_by_site(sessions, START, end["at"], "hotline")
    assert board(START)["b"] == [record_call()]


def record_call() -> FinishedCall:
    return FinishedCall("answered", 10.0, 90.0, True)
