"""TicketDesk: JSON-ready reads, validated changes with history, escalation, overdue, calls, callbacks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from callqueue.metrics import FinishedCall, figures
from sqlalchemy import func, select

from tests.db_fixture import Sessions
from tests.factories import add_contact, gave_up
from tickets.calls_service import TicketService
from tickets.desk import CALL_FIELDS, DeskError, NotFound, TicketDesk
from tickets.models import CallRecord, Priority, Ticket, TicketHistory
from tickets.sla import SlaPolicy

FRI = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)  # Friday 15:00 in Berlin
POLICY = SlaPolicy.from_hours(4, 8, 24, 72, "mon-fri 07:00-17:00", "Europe/Berlin")


@pytest.fixture
def desk(sessions: Sessions) -> TicketDesk:
    return TicketDesk(sessions, POLICY)


def test_create_numbers_the_ticket_sets_due_and_writes_history(desk: TicketDesk, sessions: Sessions) -> None:
    contact = add_contact(sessions, "Erika Muster", "+4934125385555")
    t = desk.create("  Drucker druckt nicht ", "anna", contact_id=contact, category="printer", now=FRI)
    # normal = 24 service hours: Fri 2 h, Mon 10 h, Tue 10 h, Wed 2 h -> Wed 09:00 CET = 08:00 UTC
    assert t["due_at"] == "2026-03-11T08:00:00+00:00" and t["overdue"] is False
    assert t["number"] == f"2026-{t['id']:06d}" and t["subject"] == "Drucker druckt nicht"
    assert (t["status"], t["priority"], t["level"], t["channel"]) == ("new", "normal", 1, "phone")
    assert t["contact_id"] == contact and t["created_at"] == "2026-03-06T14:00:00+00:00"
    assert list(t) == ["id", "number", "subject", "description", "status", "priority", "level", "team",
                       "assignee", "category", "channel", "first_contact_resolution", "contact_id",
                       "organisation_id", "site", "linkedid", "due_at", "overdue", "created_at", "updated_at",
                       "version",
                       "department_id", "level_due_at", "level_overdue", "taskforce_at", "resolved_at", "csat"]
    json.dumps(t)  # JSON-ready
    [h] = desk.history(t["id"])
    assert (h["field"], h["actor"], h["new"]) == ("created", "anna", t["number"])
    assert desk.ticket(t["id"], now=FRI) == t and desk.ticket(10**9) is None


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"subject": "  "}, "subject"), ({"priority": "urgent"}, "priority"), ({"channel": "pigeon"}, "channel"),
    ({"contact_id": 10**9}, "contact_id"), ({"subject": "x" * 301}, "subject"), ({"actor": ""}, "actor"),
])
def test_create_refuses_bad_values_naming_the_field(desk: TicketDesk, kwargs: dict[str, object],
                                                    field: str) -> None:
    args: dict[str, object] = {"subject": "ok", "actor": "anna", **kwargs}
    with pytest.raises(DeskError, match=rf"^{field}: ") as err:
        desk.create(**args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_update_writes_one_history_row_per_changed_field(desk: TicketDesk) -> None:
    t = desk.create("VPN", "anna", now=FRI)
    later = FRI + timedelta(hours=1)
    u = desk.update(t["id"], {"status": "open", "assignee": "bernd", "priority": "high", "category": "",
                              "first_contact_resolution": True}, "anna", now=later)
    # high = 8 h from created_at: Fri 2 h + Mon 6 h -> Mon 13:00 CET = 12:00 UTC
    assert u["due_at"] == "2026-03-09T12:00:00+00:00" and u["updated_at"] == later.isoformat()
    assert (u["status"], u["assignee"], u["priority"], u["first_contact_resolution"]) == (
        "open", "bernd", "high", True)
    rows = {h["field"]: h for h in desk.history(t["id"])}
    assert set(rows) == {"created", "status", "assignee", "priority", "first_contact_resolution"}
    assert (rows["status"]["old"], rows["status"]["new"]) == ("new", "open")
    assert (rows["assignee"]["old"], rows["assignee"]["new"]) == ("", "bernd")
    assert (rows["priority"]["old"], rows["priority"]["new"]) == ("normal", "high")
    assert rows["priority"]["note"] == "due_at 2026-03-09T12:00:00+00:00"
    assert (rows["first_contact_resolution"]["old"], rows["first_contact_resolution"]["new"]) == ("false", "true")
    assert all(h["actor"] == "anna" and h["at"] == later.isoformat() for h in rows.values() if h["field"] != "created")
    desk.update(t["id"], {"status": "open"}, "anna")  # no change: no row
    assert len(desk.history(t["id"])) == 5


@pytest.mark.parametrize(("changes", "field"), [
    ({"status": "bogus"}, "status"), ({"priority": "p1"}, "priority"), ({"level": 3}, "level"),
    ({"number": "2026-999999"}, "number"), ({"due_at": "2030-01-01"}, "due_at"),
    ({"contact_id": 10**9}, "contact_id"), ({"contact_id": "7"}, "contact_id"),
    ({"first_contact_resolution": "yes"}, "first_contact_resolution"), ({"subject": ""}, "subject"),
    ({"assignee": 5}, "assignee"),
])
def test_update_rejects_bad_values_and_changes_nothing(desk: TicketDesk, changes: dict[str, object],
                                                       field: str) -> None:
    t = desk.create("VPN", "anna", now=FRI)
    with pytest.raises(DeskError, match=rf"^{field}: "):
        desk.update(t["id"], {"assignee": "bernd", **changes}, "anna")
    assert desk.ticket(t["id"], now=FRI) == t and len(desk.history(t["id"])) == 1


def test_missing_tickets_are_not_found(desk: TicketDesk) -> None:
    for call in (lambda: desk.update(10**9, {"status": "open"}, "anna"),
                 lambda: desk.escalate(10**9, 2, "why", "anna"), lambda: desk.history(10**9)):
        with pytest.raises(NotFound):
            call()


def test_escalate_only_upward_with_a_reason(desk: TicketDesk) -> None:
    t = desk.create("Server down", "anna", priority="critical", now=FRI)
    for level, reason in ((1, "x"), (4, "x"), (2, ""), (2, "   "), (2, "x" * 501)):
        with pytest.raises(DeskError):
            desk.escalate(t["id"], level, reason, "anna")
    e = desk.escalate(t["id"], 2, "needs network team", "anna", now=FRI)
    assert (e["level"], e["status"]) == (2, "open")
    with pytest.raises(DeskError, match=r"^level: .*only goes up"):
        desk.escalate(t["id"], 2, "again", "anna")
    desk.update(t["id"], {"status": "pending"}, "bernd")
    e3 = desk.escalate(t["id"], 3, "vendor", "bernd")
    assert (e3["level"], e3["status"]) == (3, "pending")  # only "new" becomes open
    levels = [h for h in desk.history(t["id"]) if h["field"] == "level"]
    assert [(h["old"], h["new"], h["note"], h["actor"]) for h in levels] == [
        ("1", "2", "needs network team", "anna"), ("2", "3", "vendor", "bernd")]
    closed = desk.create("done already", "anna")
    desk.update(closed["id"], {"status": "closed"}, "anna")
    with pytest.raises(DeskError, match=r"^status: "):
        desk.escalate(closed["id"], 2, "too late", "anna")


def test_overdue_flag_and_filter(desk: TicketDesk, sessions: Sessions) -> None:
    late = desk.create("late", "anna", priority="critical", now=FRI)  # due Mon 09:00 CET = 08:00 UTC
    done = desk.create("late but resolved", "anna", priority="critical", now=FRI)
    desk.update(done["id"], {"status": "resolved"}, "anna")
    fresh = desk.create("fresh", "anna", priority="low", now=FRI)
    untimed = TicketDesk(sessions, SlaPolicy({Priority.HIGH: 1})).create("no target", "anna", now=FRI)
    assert late["due_at"] == "2026-03-09T08:00:00+00:00" and untimed["due_at"] is None
    monday = datetime(2026, 3, 9, 8, 0, 1, tzinfo=UTC)
    assert desk.ticket(late["id"], now=monday)["overdue"] is True  # type: ignore[index]
    assert desk.ticket(late["id"], now=monday - timedelta(seconds=2))["overdue"] is False  # type: ignore[index]
    assert desk.ticket(done["id"], now=monday)["overdue"] is False  # type: ignore[index]
    assert [t["id"] for t in desk.tickets(overdue=True, now=monday)] == [late["id"]]
    assert {t["id"] for t in desk.tickets(overdue=False, now=monday)} == {done["id"], fresh["id"], untimed["id"]}


def test_listing_filters_and_open_tickets_for_a_contact(desk: TicketDesk, sessions: Sessions) -> None:
    erika = add_contact(sessions, "Erika", "+4930111")
    ids = [desk.create(f"t{i}", "anna", contact_id=erika, now=FRI + timedelta(minutes=i))["id"] for i in range(3)]
    other = desk.create("someone else", "anna", now=FRI + timedelta(minutes=5))
    desk.update(ids[0], {"status": "closed"}, "anna")
    desk.update(ids[1], {"assignee": "bernd"}, "anna")
    assert [t["id"] for t in desk.tickets()] == [other["id"], *reversed(ids)]  # newest first
    assert [t["id"] for t in desk.tickets(contact_id=erika, limit=2)] == [ids[2], ids[1]]
    assert [t["id"] for t in desk.tickets(status="closed")] == [ids[0]]
    assert [t["id"] for t in desk.tickets(assignee="bernd")] == [ids[1]]
    assert [t["id"] for t in desk.open_tickets_for(erika)] == [ids[2], ids[1]]
    with pytest.raises(DeskError, match=r"^status: "):
        desk.tickets(status="nope")
    with pytest.raises(DeskError, match=r"^limit: "):
        desk.tickets(limit=0)


def _record(sessions: Sessions, linkedid: str, minutes: int, **kw: object) -> None:
    at = FRI + timedelta(minutes=minutes)
    values: dict[str, object] = dict(
        linkedid=linkedid, caller_number="+4930111", caller_raw="030 111", queue="hotline", entered_at=at,
        ended_at=at + timedelta(seconds=60), wait_seconds=20.0, duration_seconds=60.0, outcome="abandoned")
    values.update(kw)
    with sessions.begin() as s:
        s.add(CallRecord(**values))


def test_calls_newest_first_exact_fields_and_filters(desk: TicketDesk, sessions: Sessions) -> None:
    erika = add_contact(sessions, "Erika", "+4930222")
    _record(sessions, "c.1", 0)
    _record(sessions, "c.2", 10, queue="vip", outcome="answered", answered_at=FRI + timedelta(minutes=10, seconds=20),
            agent="PJSIP/1001", talk_seconds=40.0, caller_number="+4930222", contact_id=erika)
    _record(sessions, "c.3", 20, outcome="timeout", wait_seconds=300.0)
    calls = desk.calls()
    assert [c["linkedid"] for c in calls] == ["c.3", "c.2", "c.1"]
    assert tuple(calls[0]) == (*CALL_FIELDS, "caller_display") and len(CALL_FIELDS) == 28  # 5 of a joined call
    assert calls[1]["caller_display"] == "+49 30 222"  # the number as people read it (cti.callerid.readable)
    json.dumps(calls)
    assert calls[1]["answered_at"] == "2026-03-06T14:10:20+00:00" and calls[1]["talk_seconds"] == 40.0
    assert [c["linkedid"] for c in desk.calls(since=FRI + timedelta(minutes=10))] == ["c.3", "c.2"]
    assert [c["linkedid"] for c in desk.calls(queue="vip")] == ["c.2"]
    assert [c["linkedid"] for c in desk.calls(outcome="timeout", limit=5)] == ["c.3"]
    with pytest.raises(DeskError, match=r"^outcome: "):
        desk.calls(outcome="lost")
    assert desk.call("c.2") == calls[1] and desk.call("nope") is None
    assert [c["linkedid"] for c in desk.recent_calls(contact_id=erika)] == ["c.2"]
    assert [c["linkedid"] for c in desk.recent_calls(number="+4930111")] == ["c.3", "c.1"]
    assert [c["linkedid"] for c in desk.recent_calls(contact_id=erika, number="+4930111", limit=2)] == ["c.3", "c.2"]
    assert desk.recent_calls() == []


def test_finished_calls_feed_the_queue_metrics(desk: TicketDesk, sessions: Sessions) -> None:
    _record(sessions, "f.0", -1, outcome="abandoned", wait_seconds=30.0,
            ended_at=FRI + timedelta(seconds=30))  # entered before the range, ended in it: counted
    _record(sessions, "f.1", 0, outcome="answered", answered_at=FRI, wait_seconds=10.0, talk_seconds=100.0)
    _record(sessions, "f.2", 5, outcome="abandoned", wait_seconds=3.0)
    _record(sessions, "f.3", 10, outcome="timeout", wait_seconds=300.0)
    _record(sessions, "f.4", 59, outcome="answered", answered_at=FRI, wait_seconds=5.0)  # ends at the end: out
    _record(sessions, "f.5", 15, outcome=None, ended_at=None)  # still going
    got = desk.finished_calls(FRI, FRI + timedelta(minutes=60))
    assert got == [FinishedCall("abandoned", 30.0, 0.0, False), FinishedCall("answered", 10.0, 100.0, True),
                   FinishedCall("abandoned", 3.0, 0.0, False), FinishedCall("timeout", 300.0, 0.0, False)]
    f = figures(got)
    assert (f.offered, f.answered, f.abandoned, f.short_abandons, f.timeouts) == (4, 1, 2, 1, 1)
    with pytest.raises(DeskError, match=r"^start: "):
        desk.finished_calls(datetime(2026, 3, 6), FRI)


def test_callbacks_list_and_complete(desk: TicketDesk, sessions: Sessions) -> None:
    service = TicketService(sessions)
    for number, minutes in (("+4930333", 0), ("+4930444", 5), ("+4930333", 10)):
        service.handle(gave_up(number, FRI + timedelta(minutes=minutes)))
    items = desk.callbacks()
    assert [(c["caller_number"], c["attempts"]) for c in items] == [("+4930333", 2), ("+4930444", 1)]
    assert items[0]["first_call_at"] == FRI.isoformat() and items[0]["status"] == "open"
    json.dumps(items)
    done = desk.complete_callback(items[0]["id"], "anna")
    assert (done["status"], done["done_by"]) == ("done", "anna")
    assert desk.complete_callback(items[0]["id"], "bernd")["done_by"] == "anna"  # idempotent
    assert [c["id"] for c in desk.callbacks()] == [items[1]["id"]]
    assert [c["id"] for c in desk.callbacks("done")] == [items[0]["id"]]
    assert len(desk.callbacks(None)) == 2
    with pytest.raises(NotFound):
        desk.complete_callback(10**9, "anna")
    with pytest.raises(DeskError, match=r"^status: "):
        desk.callbacks("later")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(TicketHistory)) == 0
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0
