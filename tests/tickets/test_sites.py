"""Sites: a call is (site, linkedid). Two Asterisks producing the same Linkedid text make two
calls and two tickets; a site's reconciliation sees only its own records; the migration keeps
what a one-Asterisk desk had as site `main` (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from agent_console.settings import Settings
from cti import events as ev
from cti.queue_log import LoggedCall
from tests.db_fixture import Sessions, db_sessions, unmigrated_database
from tests.factories import T0, answered_call, call_snapshot
from tickets.callback_places import CallbackPlaces
from tickets.calls_service import TicketService
from tickets.desk import TicketDesk
from tickets.migrate import upgrade
from tickets.models import Callback, CallRecord, Priority, Ticket, User
from tickets.reconcile import unrecorded
from tickets.sites import SiteError, parse_call_ref, valid_partner
from tickets.sla import SlaPolicy

LID = "1795000000.42"


def test_site_names_and_call_refs() -> None:
    assert parse_call_ref(LID) == (None, LID)
    assert parse_call_ref(f"berlin-2:{LID}") == ("berlin-2", LID)
    for bad in (f"Berlin:{LID}", f":{LID}", "main:", f"{'x' * 33}:{LID}", f"a_b:{LID}"):
        with pytest.raises(SiteError):
            parse_call_ref(bad)
    assert valid_partner("  Callcenter Nord ") == "Callcenter Nord"
    for bad in ("", " ", "x" * 101, "a\nb"):
        with pytest.raises(SiteError):
            valid_partner(bad)


def test_hotline_site_defaults_to_main_and_a_bad_one_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_SITE", raising=False)
    assert Settings().site == "main"
    monkeypatch.setenv("HOTLINE_SITE", "leipzig-1")
    assert Settings().site == "leipzig-1"
    for bad in ("Leipzig", "", "a" * 33, "le ip", "le:ip"):
        monkeypatch.setenv("HOTLINE_SITE", bad)
        with pytest.raises(ValidationError, match="lowercase letters, digits or '-'"):
            Settings()


def test_two_sites_with_the_same_linkedid_make_two_calls_and_two_tickets(sessions: Sessions) -> None:
    made = {}
    for site, agent in (("main", "PJSIP/1001"), ("east", "PJSIP/2001")):
        service = TicketService(sessions, site=site)
        for update in answered_call("+4930111", linkedid=LID, agent=agent) * 2:  # replayed: still one each
            created = service.handle(update)
            if created is not None:
                made[site] = created
    assert {s: (c.site, c.linkedid) for s, c in made.items()} == {"main": ("main", LID), "east": ("east", LID)}
    assert made["main"].ticket_id != made["east"].ticket_id
    with sessions() as s:
        records = {r.site: r for r in s.scalars(select(CallRecord).where(CallRecord.linkedid == LID))}
        tickets = {t.site: t for t in s.scalars(select(Ticket).where(Ticket.linkedid == LID))}
    assert set(records) == set(tickets) == {"main", "east"}
    assert {s: (r.agent, r.ticket_id) for s, r in records.items()} == {
        "main": ("PJSIP/1001", made["main"].ticket_id), "east": ("PJSIP/2001", made["east"].ticket_id)}
    desk = TicketDesk(sessions, SlaPolicy({Priority.NORMAL: 24}))
    assert desk.call(LID) is None  # ambiguous without a site
    assert [c["site"] for c in desk.find_calls(LID)] == ["east", "main"]
    east = desk.call(LID, "east")
    assert east is not None and east["agent"] == "PJSIP/2001" and east["ticket_id"] == made["east"].ticket_id
    ticket = desk.ticket(made["east"].ticket_id)
    assert ticket is not None and ticket["site"] == "east"


def test_a_callback_item_is_at_the_site_of_the_call_given_up(sessions: Sessions) -> None:
    """An abandon at east makes east's callback item (the reports group callbacks by site)."""
    gave_up = call_snapshot(LID, caller_number="+4930111", ended_at=T0 + timedelta(seconds=40),
                            wait_seconds=40.0, duration_seconds=40.0, outcome=ev.Outcome.ABANDONED)
    assert gave_up.ended_at is not None
    TicketService(sessions, site="east").handle(ev.CallUpdated(gave_up.ended_at, ev.CallChange.ENDED, gave_up))
    with sessions() as s:
        assert [(c.site, c.reason) for c in s.scalars(select(Callback))] == [("east", "abandoned")]


def _logged(linkedid: str) -> LoggedCall:
    return LoggedCall(linkedid=linkedid, queue="hotline", caller_raw="+4930111", entered_at=T0, answered_at=None,
                      ended_at=T0 + timedelta(seconds=40), agent=None, wait_seconds=40.0, ring_seconds=None,
                      talk_seconds=None, outcome=ev.Outcome.ABANDONED, position=1)


def test_a_sites_reconciliation_ignores_the_other_sites_records(sessions: Sessions) -> None:
    TicketService(sessions, site="east").handle(answered_call("+4930111", linkedid=LID)[1])  # east: finished
    logged = [_logged(LID), _logged("1795000000.43")]
    assert [c.linkedid for c in unrecorded(sessions, logged, "main")] == [LID, "1795000000.43"]
    assert [c.linkedid for c in unrecorded(sessions, logged, "east")] == ["1795000000.43"]
    TicketService(sessions, site="main").handle(answered_call("+4930111", linkedid=LID)[1])
    assert [c.linkedid for c in unrecorded(sessions, logged, "main")] == ["1795000000.43"]
    with sessions() as s:  # finishing main's call left east's record alone
        east = s.scalars(select(CallRecord).where(CallRecord.site == "east")).one()
        assert (east.linkedid, east.outcome) == (LID, "answered")


@pytest.fixture
def old_url(tmp_path: Path) -> Iterator[str]:
    with unmigrated_database(tmp_path, "hl_sites") as url:
        yield url


def test_the_migration_keeps_existing_rows_as_site_main(old_url: str) -> None:
    upgrade(old_url, "0015")  # the last revision before sites
    with db_sessions(old_url) as sessions, sessions.begin() as s:
        s.execute(text("INSERT INTO tickets (number, subject, description, status, priority, level, team, assignee, "
                       "category, channel, first_contact_resolution, linkedid, created_at, updated_at, version) "
                       "VALUES ('2026-000001', 's', '', 'new', 'normal', 1, '', '', '', 'phone', false, :l, :t, :t, "
                       "1)"),
                  {"l": LID, "t": T0})
        s.execute(text("INSERT INTO call_records (linkedid, caller_raw, caller_name, queue, position, route_reason, "
                       "route_team, outcome) VALUES (:l, '', '', 'hotline', 1, '', '', 'answered')"), {"l": LID})
        s.execute(text("INSERT INTO callbacks (caller_number, caller_raw, caller_name, queue, reason, attempts, "
                       "first_call_at, last_call_at, status, done_by, linkedid, place_state, place_attempts, "
                       "place_agent) VALUES ('+4930', '', '', 'hotline', 'callback', 1, :t, :t, 'open', '', :l, "
                       "'', 0, '')"), {"l": LID, "t": T0})
        s.execute(text("INSERT INTO users (username, display_name, password_hash, role, endpoint, teams, language, "
                       "languages, active, created_at) VALUES ('anna', '', 'x', 'agent', 'PJSIP/1001', '', 'de', "
                       "'de', true, :t)"), {"t": T0})
    upgrade(old_url)
    with db_sessions(old_url) as sessions:
        with sessions() as s:
            assert s.scalars(select(Ticket.site)).one() == "main"
            assert (s.scalars(select(CallRecord)).one().site, s.scalars(select(Callback)).one().site) == (
                "main", "main")
            user = s.scalars(select(User)).one()
            assert (user.site, user.partner, user.endpoint) == ("main", "in-house", "PJSIP/1001")
        with sessions.begin() as s:  # the same Linkedid at another site is another call now
            s.add(CallRecord(site="east", linkedid=LID, queue="hotline"))
            s.add(Ticket(site="east", linkedid=LID, number="2026-000002", subject="s", created_at=T0,
                         updated_at=T0))
        with pytest.raises(IntegrityError), sessions.begin() as s:  # but not twice at one site
            s.add(CallRecord(site="main", linkedid=LID, queue="hotline"))


def test_a_sites_callback_places_are_its_own(sessions: Sessions) -> None:
    main, east = CallbackPlaces(sessions, site="main"), CallbackPlaces(sessions, site="east")
    first = main.request(LID, "+4930111", "+4930111", "", "hotline", T0, T0)
    second = east.request(LID, "+4930111", "+4930111", "", "hotline", T0, T0)
    assert first != second and main.request(LID, "+4930111", "+4930111", "", "hotline", T0, T0) == first
    assert [p.callback_id for p in main.active()] == [first]
    assert [p.callback_id for p in east.active()] == [second]
    with sessions() as s:
        assert sorted(s.scalars(select(Ticket.site).where(Ticket.linkedid == LID))) == ["east", "main"]
