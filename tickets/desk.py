"""TicketDesk: what the agent console reads and changes, as JSON-ready dicts.

Layer: service (sync; run it off the event loop). Must not import agent_console:
the SLA policy comes in as a tickets.sla.SlaPolicy value. Every change to a
ticket writes append-only TicketHistory rows (one per changed field, old and new
as text). Datetimes go out as ISO 8601 strings in UTC; `now` is taken from the
caller where given (tests, consistent pages), else from the clock.
Bad input raises DeskError (a ValueError naming the field); a missing ticket or
callback raises NotFound (a DeskError), except in the plain getters, which
return None.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from callqueue.metrics import FinishedCall
from sqlalchemy import ColumnElement, and_, not_, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import flag_modified

from cti.events import Outcome
from tickets import reports
from tickets.call_join import OVERFLOWED
from tickets.desk_fields import EDITABLE as EDITABLE
from tickets.desk_fields import MAX_LIMIT as MAX_LIMIT
from tickets.desk_fields import Conflict as Conflict
from tickets.desk_fields import DeskError as DeskError
from tickets.desk_fields import NotFound as NotFound
from tickets.desk_fields import actor as _actor
from tickets.desk_fields import aware as _aware
from tickets.desk_fields import enum_value as _enum_value
from tickets.desk_fields import limit as _limit
from tickets.desk_fields import validate as _validate
from tickets.escalation import apply_targets, hours_for, note_status, raise_level
from tickets.level_models import Department
from tickets.models import (
    Callback,
    CallbackStatus,
    CallRecord,
    Channel,
    Priority,
    Ticket,
    TicketHistory,
    TicketStatus,
)
from tickets.outbox import NoticeConfig, enqueue
from tickets.shapes import CALL_FIELDS as CALL_FIELDS
from tickets.shapes import call_dict as call_dict
from tickets.shapes import callback_dict, history_dict
from tickets.shapes import iso as _iso
from tickets.shapes import text as _text
from tickets.shapes import ticket_dict as ticket_dict
from tickets.sla import DONE, SlaPolicy
from tickets.targets import WHOLE, target_due
from tickets.visibility import Viewer, call_visible, visible

# the orders and the filter a caller's past is listed in: here one contact or number at a
# time, in tickets.pop_history for a burst of pops at once (the same lists, tested so)
NEWEST_TICKETS = (Ticket.created_at.desc(), Ticket.id.desc())
NEWEST_CALLS = (CallRecord.entered_at.desc().nulls_last(), CallRecord.id.desc())
NEWEST_CALLBACKS = (Callback.last_call_at.desc(), Callback.id.desc())
ONE_LEG = or_(CallRecord.outcome.is_(None), CallRecord.outcome != OVERFLOWED)  # a joined call once (call_join)


def _touch(ticket: Ticket, now: datetime) -> None:
    ticket.updated_at = now
    flag_modified(ticket, "updated_at")  # even when unchanged: else onupdate stamps the clock's time


def _overdue_clause(now: datetime) -> ColumnElement[bool]:
    return and_(Ticket.due_at.is_not(None), Ticket.due_at < now, Ticket.status.not_in(list(DONE)))


def add_ticket(s: Session, policy: SlaPolicy, values: dict[str, Any], channel: Channel, actor: str,
               now: datetime) -> Ticket:
    """A new ticket in the session's transaction (validated `values`), numbered
    `<year>-<id, 6 digits>`, with its `created` history row."""
    ticket = Ticket(**values, number=f"new-{uuid.uuid4().hex[:16]}", channel=channel,
                    status=TicketStatus.NEW, level=1, due_at=policy.due(now, values.get("priority", Priority.NORMAL)),
                    created_at=now, updated_at=now)
    s.add(ticket)
    s.flush()
    ticket.number = f"{now.astimezone(UTC).year}-{ticket.id:06d}"
    apply_targets(s, ticket, policy, now)
    _touch(ticket, now)
    s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=actor, field="created", new=ticket.number,
                        note=f"due_at {_iso(ticket.due_at)}" if ticket.due_at else ""))
    return ticket


class TicketDesk:
    def __init__(self, sessions: sessionmaker[Session], policy: SlaPolicy,
                 notices: NoticeConfig | None = None) -> None:
        self.sessions, self.policy, self.notices = sessions, policy, notices

    # --- tickets: reading ---------------------------------------------------

    def ticket(self, ticket_id: int, now: datetime | None = None) -> dict[str, Any] | None:
        with self.sessions() as s:
            t = s.get(Ticket, ticket_id)
            return ticket_dict(t, now or datetime.now(UTC)) if t is not None else None

    def tickets(self, status: str | None = None, contact_id: int | None = None, assignee: str | None = None,
                overdue: bool | None = None, limit: int = 50, now: datetime | None = None,
                viewer: Viewer | None = None) -> list[dict[str, Any]]:
        """Newest first, filtered by whatever is given (`viewer`: only what they may see)."""
        now = _aware(now, "now") if now else datetime.now(UTC)
        q = select(Ticket).order_by(*NEWEST_TICKETS).limit(_limit(limit))
        if viewer is not None:
            q = q.where(visible(viewer))
        if status is not None:
            q = q.where(Ticket.status == _enum_value("status", status))
        if contact_id is not None:
            q = q.where(Ticket.contact_id == contact_id)
        if assignee is not None:
            q = q.where(Ticket.assignee == assignee)
        if overdue is not None:
            q = q.where(_overdue_clause(now) if overdue else not_(_overdue_clause(now)))
        with self.sessions() as s:
            return [ticket_dict(t, now) for t in s.scalars(q)]

    def open_tickets_for(self, contact_id: int, limit: int = 10, now: datetime | None = None,
                         viewer: Viewer | None = None) -> list[dict[str, Any]]:
        """The contact's tickets that are not resolved or closed, newest first."""
        now = now or datetime.now(UTC)
        q = (select(Ticket).where(Ticket.contact_id == contact_id, Ticket.status.not_in(list(DONE)))
             .order_by(*NEWEST_TICKETS).limit(_limit(limit)))
        if viewer is not None:
            q = q.where(visible(viewer))
        with self.sessions() as s:
            return [ticket_dict(t, now) for t in s.scalars(q)]

    def history(self, ticket_id: int) -> list[dict[str, Any]]:
        with self.sessions() as s:
            self._get(s, ticket_id)
            rows = s.scalars(select(TicketHistory).where(TicketHistory.ticket_id == ticket_id)
                             .order_by(TicketHistory.at, TicketHistory.id))
            return [history_dict(h) for h in rows]

    # --- tickets: changing --------------------------------------------------

    def create(self, subject: str, actor: str, contact_id: int | None = None, description: str = "",
               priority: str = "normal", category: str = "", channel: str = "phone",
               now: datetime | None = None) -> dict[str, Any]:
        now = _aware(now, "now") if now else datetime.now(UTC)
        actor = _actor(actor)
        with self.sessions.begin() as s:
            values = {f: _validate(s, f, v) for f, v in (
                ("subject", subject), ("description", description), ("priority", priority),
                ("category", category), ("contact_id", contact_id))}
            ticket = add_ticket(s, self.policy, values, _enum_value("channel", channel), actor, now)
            enqueue(s, ticket, "created", now, self.notices)
            return ticket_dict(ticket, now)

    def update(self, ticket_id: int, changes: dict[str, Any], actor: str, now: datetime | None = None,
               expected_version: int | None = None) -> dict[str, Any]:
        """Apply `changes` (all validated first: nothing changes if one is bad); history per field.
        With `expected_version` the ticket must still be at that version, else Conflict.
        A change raises the version by one; an edit that changes nothing leaves it."""
        now = _aware(now, "now") if now else datetime.now(UTC)
        actor = _actor(actor)
        with self.sessions() as s:
            with s.begin():
                ticket = self.lock_for_change(s, ticket_id, expected_version, now)
                clean = {name: _validate(s, name, value) for name, value in changes.items()}
                changed = resolved = False
                for name, value in clean.items():
                    old = getattr(ticket, name)
                    if old == value:
                        continue
                    changed = True
                    setattr(ticket, name, value)
                    note = ""
                    if name == "priority":
                        whole = hours_for(s, ticket, WHOLE)
                        ticket.due_at = (target_due(ticket.created_at, whole, self.policy) if whole is not None
                                         else self.policy.due(ticket.created_at, value))
                        note = f"due_at {_iso(ticket.due_at) or 'none'}"
                    if name == "status":
                        note_status(ticket, value, now)
                    if name == "department_id" and value is not None:
                        note = s.get_one(Department, value).name  # the history shows the name too
                    s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=actor, field=name,
                                        old=_text(old), new=_text(value), note=note))
                    _touch(ticket, now)
                    if name == "status" and value == TicketStatus.RESOLVED:
                        resolved = True
                if resolved:  # after every change of this edit: the mail tells the notes as saved
                    enqueue(s, ticket, "resolved", now, self.notices)
                if changed:
                    return ticket_dict(ticket, now)
                s.rollback()  # nothing changed: the version stays (no false conflict for others)
            return ticket_dict(self._get(s, ticket_id), now)

    def escalate(self, ticket_id: int, level: int, reason: str, actor: str,
                 now: datetime | None = None) -> dict[str, Any]:
        """Up to level 2 or 3 only, with a reason (1-500 characters); a new ticket becomes open."""
        now = _aware(now, "now") if now else datetime.now(UTC)
        actor = _actor(actor)
        if isinstance(level, bool) or level not in (2, 3):
            raise DeskError("level", "must be 2 or 3")
        reason = reason.strip() if isinstance(reason, str) else ""
        if not 1 <= len(reason) <= 500:
            raise DeskError("reason", "is required (1-500 characters)")
        with self.sessions.begin() as s:
            ticket = self.lock_for_change(s, ticket_id, None, now)
            if level <= ticket.level:
                raise DeskError("level", f"ticket is at level {ticket.level}; escalation only goes up")
            if ticket.status in DONE:
                raise DeskError("status", f"a {ticket.status.value} ticket cannot be escalated")
            raise_level(s, ticket, level, reason, actor, now, self.policy, self.notices)
            _touch(ticket, now)
            return ticket_dict(ticket, now)

    @classmethod
    def lock_for_change(cls, session: Session, ticket_id: int, expected: int | None, now: datetime) -> Ticket:
        """The ticket, its version raised by one in the statement that locks its row (the
        first write of the transaction, so SQLite waits for the lock instead of failing):
        UPDATE ... WHERE id AND version — of two editors who read one version, one wins."""
        match = [Ticket.id == ticket_id] + ([Ticket.version == expected] if expected is not None else [])
        bumped = session.execute(update(Ticket).where(*match).values(version=Ticket.version + 1)
                                 .execution_options(synchronize_session=False))
        ticket = session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None:
            raise NotFound("id", f"no ticket {ticket_id}")
        if getattr(bumped, "rowcount", 0) != 1:
            raise Conflict(ticket_dict(ticket, now))
        return ticket

    @staticmethod
    def _get(session: Session, ticket_id: int) -> Ticket:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound("id", f"no ticket {ticket_id}")
        return ticket

    # --- calls --------------------------------------------------------------

    def calls(self, since: datetime | None = None, limit: int = 100, queue: str | None = None,
              outcome: str | None = None, viewer: Viewer | None = None) -> list[dict[str, Any]]:
        """Call records newest first (by when they entered the queue); `viewer`: theirs only."""
        q = select(CallRecord) if viewer is None else select(CallRecord).where(call_visible(viewer))
        if since is not None:
            q = q.where(CallRecord.entered_at >= _aware(since, "since"))
        if queue is not None:
            q = q.where(CallRecord.queue == queue)
        if outcome is not None:
            if outcome not in {o.value for o in Outcome}:
                raise DeskError("outcome", f"must be one of {', '.join(o.value for o in Outcome)}")
            q = q.where(CallRecord.outcome == outcome)
        return self._calls(q, limit)

    def recent_calls(self, contact_id: int | None = None, number: str | None = None,
                     limit: int = 10, viewer: Viewer | None = None) -> list[dict[str, Any]]:
        """The calls of a contact or from a number (either matches), newest first; [] given neither;
        a call another site took is listed once, as that site's (its entry leg left out).
        `viewer`: only the calls they may see (an agent: their own)."""
        matches: list[ColumnElement[bool]] = []
        if contact_id is not None:
            matches.append(CallRecord.contact_id == contact_id)
        if number:
            matches.append(CallRecord.caller_number == number)
        if not matches:
            return []
        return self._calls(select(CallRecord).where(or_(*matches), ONE_LEG, call_visible(viewer) if viewer else true()),
                           limit)

    def call(self, linkedid: str, site: str | None = None) -> dict[str, Any] | None:
        """The call `linkedid` at `site`; without a site, the one call of that Linkedid
        (None when no site or several have it: find_calls lists them)."""
        found = self.find_calls(linkedid, site)
        return found[0] if len(found) == 1 else None

    def find_calls(self, linkedid: str, site: str | None = None) -> list[dict[str, Any]]:
        """The calls with this Linkedid (at `site` only, when given), by site."""
        q = select(CallRecord).where(CallRecord.linkedid == linkedid)
        if site is not None:
            q = q.where(CallRecord.site == site)
        with self.sessions() as s:
            return [call_dict(r) for r in s.scalars(q.order_by(CallRecord.site).limit(100))]

    def _calls(self, q: Any, limit: int) -> list[dict[str, Any]]:
        q = q.order_by(*NEWEST_CALLS).limit(_limit(limit))
        with self.sessions() as s:
            return [call_dict(r) for r in s.scalars(q)]

    def finished_calls(self, start: datetime, end: datetime) -> list[FinishedCall]:
        """Calls that ended in [start, end), oldest first, for callqueue.metrics.figures
        (tickets.reports' query, with the desk's check for time zones)."""
        found = reports.finished_calls(self.sessions, _aware(start, "start"), _aware(end, "end"))
        return [call for _queue, _ended, call in found]

    # --- callbacks ----------------------------------------------------------

    def callbacks(self, status: str | None = "open", limit: int = 200,
                  number: str | None = None) -> list[dict[str, Any]]:
        """Callback items (status None: all). All numbers: in working order, whoever has waited
        longest first. One (normalised) number's: latest call first (the pop's context)."""
        q = select(Callback).limit(_limit(limit))
        if number is None:
            q = q.order_by(Callback.first_call_at, Callback.id)
        else:
            q = q.where(Callback.caller_number == number).order_by(*NEWEST_CALLBACKS)
        if status is not None:
            try:
                q = q.where(Callback.status == CallbackStatus(status))
            except ValueError:
                raise DeskError("status", "must be open or done") from None
        with self.sessions() as s:
            return [callback_dict(c) for c in s.scalars(q)]

    def callback(self, callback_id: int) -> dict[str, Any] | None:
        with self.sessions() as s:
            item = s.get(Callback, callback_id)
            return callback_dict(item) if item is not None else None

    def complete_callback(self, callback_id: int, actor: str) -> dict[str, Any]:
        """Mark done (idempotent: completing a done item keeps who did it)."""
        actor = _actor(actor)
        with self.sessions.begin() as s:
            item = s.get(Callback, callback_id)
            if item is None:
                raise NotFound("id", f"no callback {callback_id}")
            if item.status != CallbackStatus.DONE:
                item.status, item.done_by = CallbackStatus.DONE, actor[:64]
            return callback_dict(item)
