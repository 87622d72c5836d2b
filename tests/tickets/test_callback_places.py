"""Virtual places in the database (SQLite and PostgreSQL): one item, ticket and call
record link per call; the bridge's ENDED keeps the links and folds no abandon item;
DONE closes the item, GIVEN_UP leaves it open for /calls; the migration keeps data."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from callqueue import callbacks as cb
from sqlalchemy import func, select, text

from cti import events as ev
from tests.db_fixture import Sessions, db_sessions
from tests.factories import T0, add_contact, call_snapshot, new_linkedid
from tickets.callback_places import CallbackPlaces
from tickets.calls_service import TicketService
from tickets.migrate import upgrade
from tickets.models import Callback, CallbackStatus, CallRecord, Ticket

NUMBER = "+493415550123"


def _request(places: CallbackPlaces, linkedid: str, joined_s: float = 0) -> int:
    return places.request(linkedid, NUMBER, "0341 5550123", "<b>Rita</b>", "hotline",
                          T0 + timedelta(seconds=joined_s), T0 + timedelta(seconds=30))


def test_a_request_makes_one_item_one_ticket_and_links_the_call(sessions: Sessions) -> None:
    contact = add_contact(sessions, "Rita Rueckruf", NUMBER)
    places = CallbackPlaces(sessions)
    linkedid = new_linkedid()
    first = _request(places, linkedid)
    assert _request(places, linkedid) == first  # pressed twice, or a replayed AGI request
    with sessions() as s:
        item = s.get_one(Callback, first)
        assert (item.reason, item.place_state, item.place_at, item.contact_id, item.status) == (
            "callback", "waiting", T0, contact, CallbackStatus.OPEN)
        ticket = s.get_one(Ticket, item.ticket_id)
        assert ticket.linkedid == linkedid and ticket.contact_id == contact
        assert ticket.number == f"{T0.year}-{ticket.id:06d}"
        record = s.scalars(select(CallRecord).where(CallRecord.linkedid == linkedid)).one()
        assert (record.callback_id, record.ticket_id, record.outcome) == (first, ticket.id, "callback")
    assert places.active() == [cb.VirtualPlace(first, "hotline", T0, NUMBER)]


def test_the_bridges_ended_update_keeps_the_links_and_is_no_abandon(sessions: Sessions) -> None:
    places, service = CallbackPlaces(sessions), TicketService(sessions)
    linkedid = new_linkedid()
    item = _request(places, linkedid)
    ended = call_snapshot(linkedid, caller_number=NUMBER, entered_at=T0, ended_at=T0 + timedelta(seconds=40),
                          outcome=ev.Outcome.CALLBACK, wait_seconds=40.0)
    for _ in range(2):  # a replay changes nothing
        service.handle(ev.CallUpdated(T0 + timedelta(seconds=40), ev.CallChange.ENDED, ended))
    with sessions() as s:
        record = s.scalars(select(CallRecord).where(CallRecord.linkedid == linkedid)).one()
        assert (record.outcome, record.callback_id, record.wait_seconds) == ("callback", item, 40.0)
        assert record.ticket_id is not None
        assert s.scalar(select(func.count()).select_from(Callback)) == 1
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1


def test_places_come_oldest_first_and_settle(sessions: Sessions) -> None:
    places = CallbackPlaces(sessions)
    late, early = _request(places, new_linkedid(), joined_s=20), _request(places, new_linkedid(), joined_s=5)
    assert [p.callback_id for p in places.active()] == [early, late]
    now = T0 + timedelta(minutes=1)
    ringing = cb.dialing(places.active()[0], "PJSIP/1001", now)
    places.save(ringing)
    assert places.place(early) == ringing
    places.save(cb.after_attempt(ringing, "ANSWER", now))
    given_up = replace(places.active()[0], attempts=2)
    places.save(cb.after_attempt(cb.dialing(given_up, "PJSIP/1001", now), "NOANSWER", now))
    assert places.active() == []
    with sessions() as s:
        done, kept = s.get_one(Callback, early), s.get_one(Callback, late)
        assert (done.status, done.done_by, done.place_state) == (CallbackStatus.DONE, "callback", "done")
        assert (kept.status, kept.place_state, kept.place_attempts) == (CallbackStatus.OPEN, "given_up", 3)


def test_the_migration_keeps_existing_callback_items(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0011")
    with db_sessions(url) as sessions, sessions.begin() as s:
        s.execute(text("INSERT INTO callbacks (caller_number, caller_raw, caller_name, queue, reason, "
                       "attempts, first_call_at, last_call_at, status, done_by) VALUES (:n, '', '', "
                       "'hotline', 'abandoned', 2, :t, :t, 'open', '')"), {"n": NUMBER, "t": T0})
    upgrade(url)
    with db_sessions(url) as sessions:
        with sessions() as s:
            item = s.scalars(select(Callback)).one()
            assert (item.reason, item.attempts, item.place_state, item.linkedid, item.ticket_id) == (
                "abandoned", 2, "", None, None)
        assert CallbackPlaces(sessions).active() == []
