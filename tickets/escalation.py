"""Levels in the database: targets per organisation, raising a level (by hand or by the
scheduler), the time at each level, the timed scan and the task-force alarm.

Layer: service (sync SQLAlchemy; run it off the event loop). Must not import
agent_console. Exactly once across several instances, on both databases:
- a level 2 -> 3 move is one `UPDATE tickets ... WHERE id AND level = 2 AND
  level_due_at <= now AND open` (a compare-and-set): of two schedulers that found
  the same ticket, only the one whose update changed the row writes the history;
- the task-force alarm is `UPDATE ... SET taskforce_at WHERE taskforce_at IS NULL`:
  one instance raises it, with its mails in the same transaction.
On PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED`, so a second
scheduler skips the rows the first is working on instead of waiting for them.
Everything lives in the rows (no timers in memory): a restarted instance picks up
whatever fell due while it was down.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tickets.level_models import ResolutionTarget
from tickets.models import Contact, Notification, Ticket, TicketHistory, TicketStatus
from tickets.outbox import NoticeConfig, enqueue
from tickets.shapes import iso, ticket_dict
from tickets.sla import DONE, SlaPolicy
from tickets.targets import WHOLE, Key, level_times, pick_hours, target_due

SCHEDULER = "scheduler"  # the actor of automatic steps in the history
BATCH = 200


def load_targets(s: Session) -> dict[Key, float]:
    return {(t.organisation_id, t.priority, t.level): t.hours for t in s.scalars(select(ResolutionTarget))}


def organisation_of(s: Session, ticket: Ticket) -> int | None:
    if ticket.organisation_id is not None:
        return ticket.organisation_id
    if ticket.contact_id is None:
        return None
    return s.scalar(select(Contact.organisation_id).where(Contact.id == ticket.contact_id))


def hours_for(s: Session, ticket: Ticket, level: int) -> float | None:
    return pick_hours(load_targets(s), organisation_of(s, ticket), ticket.priority.value, level)


def apply_targets(s: Session, ticket: Ticket, policy: SlaPolicy, now: datetime) -> None:
    """A new ticket: the contract's whole-ticket target (when one is stored) replaces the
    SLA's due time, and level 1 gets its own due time."""
    targets, org = load_targets(s), organisation_of(s, ticket)
    whole = pick_hours(targets, org, ticket.priority.value, WHOLE)
    if whole is not None:
        ticket.due_at = target_due(ticket.created_at, whole, policy)
    ticket.level_due_at = target_due(now, pick_hours(targets, org, ticket.priority.value, ticket.level), policy)


def raise_level(s: Session, ticket: Ticket, level: int, reason: str, actor: str, now: datetime,
                policy: SlaPolicy, notices: NoticeConfig | None) -> None:
    """Move a locked ticket up to `level` with the history row (the reason as its note),
    the new level's due time, a new ticket opened, and the caller's mail queued."""
    due = target_due(now, hours_for(s, ticket, level), policy)
    s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=actor, field="level", old=str(ticket.level),
                        new=str(level), note=reason))
    ticket.level, ticket.level_due_at = level, due
    if ticket.status == TicketStatus.NEW:
        s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=actor, field="status", old="new", new="open",
                            note="escalated"))
        ticket.status = TicketStatus.OPEN
    enqueue(s, ticket, "escalated", now, notices)


def note_status(ticket: Ticket, status: TicketStatus, now: datetime) -> None:
    """`resolved_at`: set when a ticket is first resolved or closed, cleared when it is reopened."""
    if status in DONE:
        ticket.resolved_at = ticket.resolved_at or now
    else:
        ticket.resolved_at = None


@dataclass
class ScanResult:
    escalated: list[dict[str, Any]] = field(default_factory=list)  # tickets moved 2 -> 3
    alarms: list[dict[str, Any]] = field(default_factory=list)  # tickets whose contract time was missed


def _open() -> Any:
    return Ticket.status.not_in(list(DONE))


def alarm_json(t: Ticket, now: datetime) -> dict[str, Any]:
    return {"ticket": ticket_dict(t, now), "due_at": iso(t.due_at), "raised_at": iso(t.taskforce_at)}


class Escalator:
    """The timed scan: run `scan(now)` on a worker thread, from every instance."""

    def __init__(self, sessions: sessionmaker[Session], policy: SlaPolicy, notices: NoticeConfig | None,
                 alarm_to: tuple[str, ...] = (), batch: int = BATCH) -> None:
        self.sessions, self.policy, self.notices = sessions, policy, notices
        self.alarm_to, self.batch = alarm_to, batch

    def scan(self, now: datetime) -> ScanResult:
        result = ScanResult()
        while self._level_batch(now, result) == self.batch:
            pass
        while self._alarm_batch(now, result) == self.batch:
            pass
        return result

    def _each(self, due: tuple[Any, ...], act: Any) -> int:
        """Run `act(session, id)` on each ticket matching `due` (one batch); the number found.
        PostgreSQL: one transaction, rows locked FOR UPDATE SKIP LOCKED. SQLite: the ids read
        first, then one transaction per ticket whose first statement is the write (SQLite
        waits for the write lock then, instead of failing to upgrade a read)."""
        q = select(Ticket.id).where(*due, _open()).order_by(Ticket.id).limit(self.batch)
        if self.sessions.kw.get("bind") is not None and self.sessions.kw["bind"].dialect.name == "postgresql":
            with self.sessions.begin() as s:
                ids = list(s.scalars(q.with_for_update(skip_locked=True)))
                for ticket_id in ids:
                    act(s, ticket_id)
            return len(ids)
        with self.sessions() as s:
            ids = list(s.scalars(q))
        for ticket_id in ids:
            with self.sessions.begin() as s:
                act(s, ticket_id)
        return len(ids)

    def _level_batch(self, now: datetime, result: ScanResult) -> int:
        due = (Ticket.level == 2, Ticket.level_due_at.is_not(None), Ticket.level_due_at <= now)

        def move(s: Session, ticket_id: int) -> None:
            moved = s.execute(update(Ticket).where(Ticket.id == ticket_id, *due, _open())
                              .values(version=Ticket.version + 1).execution_options(synchronize_session=False))
            if getattr(moved, "rowcount", 0) != 1:
                return  # another instance moved it first
            ticket = s.get_one(Ticket, ticket_id, populate_existing=True)
            reason = f"level 2 target missed (due {iso(ticket.level_due_at)}); moved to level 3 automatically"
            raise_level(s, ticket, 3, reason, SCHEDULER, now, self.policy, self.notices)
            ticket.updated_at = now
            s.flush()
            result.escalated.append(ticket_dict(ticket, now))

        return self._each(due, move)

    def _alarm_batch(self, now: datetime, result: ScanResult) -> int:
        due = (Ticket.taskforce_at.is_(None), Ticket.due_at.is_not(None), Ticket.due_at <= now)

        def raise_alarm(s: Session, ticket_id: int) -> None:
            raised = s.execute(update(Ticket).where(Ticket.id == ticket_id, *due, _open())
                               .values(taskforce_at=now, version=Ticket.version + 1)
                               .execution_options(synchronize_session=False))
            if getattr(raised, "rowcount", 0) != 1:
                return
            ticket = s.get_one(Ticket, ticket_id, populate_existing=True)
            s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=SCHEDULER, field="taskforce", new=iso(now) or "",
                                note=f"contractual resolution time missed (due {iso(ticket.due_at)}); "
                                     "task-force alarm to supervisors"))
            self._mail(s, ticket, now)
            result.alarms.append(alarm_json(ticket, now))

        return self._each(due, raise_alarm)

    def _mail(self, s: Session, ticket: Ticket, now: datetime) -> None:
        domain = self.notices.domain if self.notices else "hotline.invalid"
        tz = self.notices.timezone if self.notices else self.policy.tz
        subject, body = alarm_text(ticket, tz)
        for n, address in enumerate(self.alarm_to):
            s.add(Notification(key=f"{ticket.id}:taskforce:{n}", ticket_id=ticket.id, kind="taskforce",
                               to_address=address, language="de", subject=subject, body=body,
                               message_id=f"<{uuid.uuid4().hex}@{domain}>", status="pending", attempts=0,
                               next_attempt_at=now, created_at=now, last_error=""))


def alarm_text(ticket: Ticket, tz: str) -> tuple[str, str]:
    """The supervisors' mail, German then English (a desk's supervisors read both)."""
    from zoneinfo import ZoneInfo

    due = ticket.due_at.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M") if ticket.due_at else "-"
    subject = f"[#{ticket.number}] Task Force: Lösungszeit überschritten / resolution time missed"
    body = (f"Ticket {ticket.number} „{ticket.subject}“ hat die vertragliche Lösungszeit ({due}) überschritten "
            f"(Level {ticket.level}, Priorität {ticket.priority.value}). Bitte eine Task Force bilden.\n\n"
            f"Ticket {ticket.number} \"{ticket.subject}\" has missed its contractual resolution time ({due}) "
            f"(level {ticket.level}, priority {ticket.priority.value}). Please form a task force.\n")
    return subject[:400], body


def open_alarms(sessions: sessionmaker[Session], now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Open tickets whose task-force alarm is up, the latest alarm first (the wallboard)."""
    q = (select(Ticket).where(Ticket.taskforce_at.is_not(None), _open())
         .order_by(Ticket.taskforce_at.desc(), Ticket.id.desc()).limit(limit))
    with sessions() as s:
        return [alarm_json(t, now) for t in s.scalars(q)]


def time_at_levels(sessions: sessionmaker[Session], ticket_id: int, policy: SlaPolicy,
                   now: datetime) -> list[dict[str, Any]] | None:
    """Seconds the ticket spent at each level (wall clock and service time), from its
    history; up to resolved_at, or now while open. None: no such ticket."""
    with sessions() as s:
        ticket = s.get(Ticket, ticket_id)
        if ticket is None:
            return None
        changes = [(h.at, int(h.new)) for h in s.scalars(select(TicketHistory).where(
            TicketHistory.ticket_id == ticket_id, TicketHistory.field == "level")) if h.new.isdigit()]
        end = ticket.resolved_at or now
        return [{"level": t.level, "seconds": round(t.seconds, 1), "service_seconds": round(t.service_seconds, 1)}
                for t in level_times(ticket.created_at, changes, end, policy)]
