"""Retention purge on both databases: old call records and callbacks go, recent ones and tickets stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.db_fixture import Sessions
from tickets.models import Callback, CallRecord, Ticket
from tickets.retention import purge

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_purge_deletes_only_what_is_older_than_the_setting(sessions: Sessions) -> None:
    with sessions.begin() as s:
        old_cb = Callback(caller_number="+4930111", first_call_at=NOW - timedelta(days=40),
                          last_call_at=NOW - timedelta(days=40))
        s.add(old_cb)
        s.flush()
        ticket = Ticket(number="2026-900001", subject="kept", linkedid="old.1")
        s.add(ticket)
        s.flush()
        s.add_all([
            CallRecord(linkedid="old.1", caller_number="+4930111", entered_at=NOW - timedelta(days=31),
                       ended_at=NOW - timedelta(days=31), ticket_id=ticket.id, callback_id=old_cb.id),
            CallRecord(linkedid="old.2", entered_at=NOW - timedelta(days=45)),  # never ended
            CallRecord(linkedid="new.1", caller_number="+4930222", entered_at=NOW - timedelta(days=2),
                       ended_at=NOW - timedelta(days=2)),
            Callback(caller_number="+4930222", first_call_at=NOW - timedelta(days=1),
                     last_call_at=NOW - timedelta(days=1)),
        ])
    assert purge(sessions, 0, NOW).call_records == 0  # 0 days: keep everything
    done = purge(sessions, 30, NOW)
    assert (done.call_records, done.callbacks) == (2, 1)
    with sessions() as s:
        assert s.scalars(select(CallRecord.linkedid)).all() == ["new.1"]
        assert s.scalar(select(func.count()).select_from(Callback)) == 1
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
