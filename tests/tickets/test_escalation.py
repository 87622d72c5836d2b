"""Timed escalation on the real database (SQLite, or PostgreSQL with
HOTLINE_TEST_DATABASE_URL): level 2 -> 3 when level 2's target is up and the task-force
alarm when the contractual time is missed, exactly once with two schedulers on one
database, picked up after a restart, every automatic step in the history with its reason."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.db_fixture import Sessions
from tests.factories import add_contact
from tickets.departments import Targets
from tickets.desk import TicketDesk
from tickets.escalation import SCHEDULER, Escalator, ScanResult, open_alarms, time_at_levels
from tickets.models import Contact, Notification, Organisation, Priority, TicketHistory
from tickets.outbox import NoticeConfig
from tickets.sla import SlaPolicy

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
POLICY = SlaPolicy({p: 24.0 for p in Priority}, None, "Europe/Berlin")  # 24/7: easy arithmetic
NOTICES = NoticeConfig("hotline.test")


def escalated_tickets(sessions: Sessions, desk: TicketDesk, n: int, level2_hours: float = 2) -> list[int]:
    Targets(sessions).set(None, "normal", 2, level2_hours)
    ids = []
    for i in range(n):
        t = desk.create(f"Server {i} antwortet nicht", "anna", now=T0)
        desk.escalate(t["id"], 2, "needs the network team", "anna", now=T0 + timedelta(minutes=10))
        ids.append(t["id"])
    return ids


def scheduler_moves(sessions: Sessions, ticket_id: int) -> list[TicketHistory]:
    with sessions() as s:
        return list(s.scalars(select(TicketHistory).where(
            TicketHistory.ticket_id == ticket_id, TicketHistory.actor == SCHEDULER, TicketHistory.field == "level")))


def race(*scanners: Escalator, now: datetime) -> list[ScanResult]:
    """Every scanner's scan at once (a barrier starts them together), each on its own thread."""
    barrier, results, errors = threading.Barrier(len(scanners)), [ScanResult()] * len(scanners), []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = scanners[i].scan(now)
        except Exception as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(scanners))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_escalating_to_level_2_sets_its_due_time_from_the_target(sessions: Sessions) -> None:
    desk = TicketDesk(sessions, POLICY)
    [ticket_id] = escalated_tickets(sessions, desk, 1, level2_hours=3)
    t = desk.ticket(ticket_id, now=T0)
    assert t is not None and t["level"] == 2
    assert t["level_due_at"] == (T0 + timedelta(minutes=10, hours=3)).isoformat()


def test_an_organisations_target_wins_and_a_whole_ticket_target_sets_the_due_time(sessions: Sessions) -> None:
    desk = TicketDesk(sessions, POLICY)
    contact = add_contact(sessions, "Erika Muster", "+4934125385555")
    with sessions.begin() as s:
        org = Organisation(name="Stadtwerke")
        s.add(org)
        s.flush()
        s.get_one(Contact, contact).organisation_id = org.id
        org_id = org.id
    targets = Targets(sessions)
    targets.set(None, "normal", 2, 8)
    targets.set(org_id, "normal", 2, 1)
    targets.set(org_id, "normal", 0, 5)
    t = desk.create("VPN", "anna", contact_id=contact, now=T0)
    assert t["due_at"] == (T0 + timedelta(hours=5)).isoformat()  # the contract's, not the SLA's 24 h
    t = desk.escalate(t["id"], 2, "VPN concentrator", "anna", now=T0)
    assert t["level_due_at"] == (T0 + timedelta(hours=1)).isoformat()


def test_two_schedulers_move_each_ticket_exactly_once(sessions: Sessions) -> None:
    desk = TicketDesk(sessions, POLICY)
    ids = escalated_tickets(sessions, desk, 30)
    early = Escalator(sessions, POLICY, NOTICES).scan(T0 + timedelta(hours=2))  # 10 minutes before it is due
    assert early.escalated == [] and early.alarms == []
    a, b = Escalator(sessions, POLICY, NOTICES, batch=7), Escalator(sessions, POLICY, NOTICES, batch=7)
    results = race(a, b, now=T0 + timedelta(hours=3))
    moved = [t["id"] for r in results for t in r.escalated]
    assert sorted(moved) == ids  # each ticket once, by one of the two
    for ticket_id in ids:
        [step] = scheduler_moves(sessions, ticket_id)
        assert (step.old, step.new) == ("2", "3")
        assert step.note.startswith("level 2 target missed (due 2026-03-02T10:10:00+00:00)")
        t = desk.ticket(ticket_id)
        assert t is not None and t["level"] == 3
    assert race(a, b, now=T0 + timedelta(hours=4)) == [ScanResult(), ScanResult()]  # nothing twice


def test_task_force_alarm_once_with_its_mails_and_history(sessions: Sessions) -> None:
    desk = TicketDesk(sessions, POLICY)
    ids = escalated_tickets(sessions, desk, 12, level2_hours=100)  # level 2 not due; the contract (24 h) is
    to = ("leitung@example.org", "taskforce@example.org")
    a, b = Escalator(sessions, POLICY, NOTICES, to, batch=5), Escalator(sessions, POLICY, NOTICES, to, batch=5)
    results = race(a, b, now=T0 + timedelta(hours=25))
    alarmed = sorted(x["ticket"]["id"] for r in results for x in r.alarms)
    assert alarmed == ids and all(r.escalated == [] for r in results)
    with sessions() as s:
        mails = s.execute(select(Notification.ticket_id, Notification.to_address, Notification.subject)
                          .where(Notification.kind == "taskforce")).all()
        notes = s.scalars(select(TicketHistory.note).where(TicketHistory.field == "taskforce")).all()
    assert sorted((m.ticket_id, m.to_address) for m in mails) == sorted((i, a) for i in ids for a in to)
    assert all("Task Force" in m.subject and "resolution time missed" in m.subject for m in mails)
    assert len(notes) == len(ids) and all(n.startswith("contractual resolution time missed") for n in notes)
    assert sorted(x["ticket"]["id"] for x in open_alarms(sessions, T0 + timedelta(hours=25))) == ids
    assert race(a, b, now=T0 + timedelta(hours=30)) == [ScanResult(), ScanResult()]


def test_a_restarted_scheduler_picks_up_what_fell_due_while_it_was_down(sessions: Sessions) -> None:
    desk = TicketDesk(sessions, POLICY)
    [ticket_id] = escalated_tickets(sessions, desk, 1)
    Escalator(sessions, POLICY, NOTICES).scan(T0 + timedelta(hours=1))  # before: nothing to do
    # "restart": a new scheduler with nothing in memory, long after the time was up
    result = Escalator(sessions, POLICY, NOTICES).scan(T0 + timedelta(days=3))
    assert [t["id"] for t in result.escalated] == [ticket_id]
    assert [x["ticket"]["id"] for x in result.alarms] == [ticket_id]


def test_done_tickets_are_left_alone_and_resolved_at_is_kept(sessions: Sessions) -> None:
    desk = TicketDesk(sessions, POLICY)
    [ticket_id] = escalated_tickets(sessions, desk, 1)
    t = desk.update(ticket_id, {"status": "resolved"}, "bert", now=T0 + timedelta(hours=1))
    assert t["resolved_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert Escalator(sessions, POLICY, NOTICES).scan(T0 + timedelta(days=3)) == ScanResult()
    levels = time_at_levels(sessions, ticket_id, POLICY, T0 + timedelta(days=3))
    assert levels == [{"level": 1, "seconds": 600.0, "service_seconds": 600.0},
                      {"level": 2, "seconds": 3000.0, "service_seconds": 3000.0}]  # up to resolved_at
    t = desk.update(ticket_id, {"status": "open"}, "bert", now=T0 + timedelta(hours=2))
    assert t["resolved_at"] is None  # reopened
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "taskforce")) == 0
