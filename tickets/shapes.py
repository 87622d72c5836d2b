"""Tickets, calls, callbacks and history as the API and the bus show them (JSON-ready dicts).

Layer: service (pure: ORM rows in, dicts out; no session, no I/O). Times are ISO 8601
in UTC; enums by their value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cti.callerid import readable
from tickets.models import Callback, CallRecord, Channel, Priority, Ticket, TicketHistory, TicketStatus
from tickets.sla import is_overdue

CALL_FIELDS = ("site", "linkedid", "caller_number", "caller_raw", "caller_name", "contact_id", "queue",
               "entered_at", "answered_at", "ended_at", "wait_seconds", "ring_seconds", "talk_seconds",
               "duration_seconds", "agent", "outcome", "ticket_id", "position", "callback_id",
               "route_reason", "route_team", "route_language", "route_priority_reason",
               "entry_site", "entry_linkedid", "entry_wait_seconds",
               "overflow_site", "overflow_linkedid")

def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def text(value: Any) -> str:
    """A value as history text: enums by value, booleans as true/false, None as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.value) if isinstance(value, (TicketStatus, Priority, Channel)) else str(value)


def ticket_dict(t: Ticket, now: datetime) -> dict[str, Any]:
    return {
        "id": t.id, "number": t.number, "subject": t.subject, "description": t.description,
        "status": text(t.status), "priority": text(t.priority), "level": t.level, "team": t.team,
        "assignee": t.assignee, "category": t.category, "channel": text(t.channel),
        "first_contact_resolution": t.first_contact_resolution, "contact_id": t.contact_id,
        "organisation_id": t.organisation_id,
        "site": t.site, "linkedid": t.linkedid, "due_at": iso(t.due_at), "overdue": is_overdue(t.due_at, t.status, now),
        "created_at": iso(t.created_at), "updated_at": iso(t.updated_at), "version": t.version,
        "department_id": t.department_id, "level_due_at": iso(t.level_due_at),
        "level_overdue": t.level_due_at is not None and is_overdue(t.level_due_at, t.status, now),
        "taskforce_at": iso(t.taskforce_at), "resolved_at": iso(t.resolved_at),
        "csat": t.csat}


def call_dict(r: CallRecord) -> dict[str, Any]:
    values = {f: getattr(r, f) for f in CALL_FIELDS}
    out = {f: (iso(v) if isinstance(v, datetime) else v) for f, v in values.items()}
    out["caller_display"] = readable(r.caller_number)  # as people read it (cti.callerid.readable)
    return out


def callback_dict(c: Callback) -> dict[str, Any]:
    return {"id": c.id, "caller_number": c.caller_number, "caller_display": readable(c.caller_number),
            "caller_raw": c.caller_raw, "caller_name": c.caller_name, "contact_id": c.contact_id, "queue": c.queue,
            "reason": c.reason,
            "attempts": c.attempts, "first_call_at": iso(c.first_call_at), "last_call_at": iso(c.last_call_at),
            "status": text(c.status), "done_by": c.done_by, "refused": c.refused}


def history_dict(h: TicketHistory) -> dict[str, Any]:
    return {"id": h.id, "ticket_id": h.ticket_id, "at": iso(h.at), "actor": h.actor, "field": h.field,
            "old": h.old, "new": h.new, "note": h.note}


