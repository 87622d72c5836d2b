"""On-site appointments on 2nd/3rd-level tickets, and their iCalendar export.

Layer: service (sync; run it off the event loop). Must not import agent_console.
Booking locks the ticket like every change (its version goes up) and writes an
`appointment` history row. The calendar export is RFC 5545 text made by the
maintained `icalendar` library (escaping of commas, semicolons and newlines in
callers' text is its job, not ours); each event's UID is stable, so a calendar
that subscribes to the feed updates events instead of duplicating them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tickets.desk import DeskError, NotFound, TicketDesk, ticket_dict
from tickets.level_models import Appointment
from tickets.models import Ticket, TicketHistory, User
from tickets.shapes import iso
from tickets.sla import DONE
from tickets.visibility import Viewer, visible

MAX_LENGTH = timedelta(hours=12)
MAX_SPAN = timedelta(days=400)  # of one calendar export


def appointment_dict(a: Appointment, ticket: Ticket | None = None) -> dict[str, Any]:
    out = {"id": a.id, "ticket_id": a.ticket_id, "starts_at": iso(a.starts_at), "ends_at": iso(a.ends_at),
           "place": a.place, "technician": a.technician, "note": a.note, "booked_by": a.booked_by,
           "created_at": iso(a.created_at)}
    if ticket is not None:
        out.update(ticket_number=ticket.number, ticket_subject=ticket.subject)
    return out


def _clean(name: str, value: str, limit: int, required: bool = True) -> str:
    text = " ".join(value.split()) if name != "note" else value.strip()
    if (required and not text) or len(text) > limit:
        raise DeskError(name, f"must be {'1' if required else '0'}-{limit} characters")
    return text


class Appointments:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def book(self, ticket_id: int, starts_at: datetime, ends_at: datetime, place: str, technician: str,
             note: str, actor: str, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the appointment, the ticket after it). The ticket must be open and at level 2 or 3."""
        if starts_at.tzinfo is None or ends_at.tzinfo is None:
            raise DeskError("starts_at", "must be a time with its UTC offset")
        if not timedelta(0) < ends_at - starts_at <= MAX_LENGTH:
            raise DeskError("ends_at", "must be after starts_at, at most 12 hours later")
        place, note = _clean("place", place, 300), _clean("note", note, 2000, required=False)
        with self.sessions.begin() as s:
            ticket = TicketDesk.lock_for_change(s, ticket_id, None, now)
            if ticket.level < 2:
                raise DeskError("level", "appointments are booked by 2nd or 3rd level: escalate the ticket first")
            if ticket.status in DONE:
                raise DeskError("status", f"a {ticket.status.value} ticket gets no appointment")
            if s.scalar(select(User.id).where(User.username == technician, User.active.is_(True))) is None:
                raise DeskError("technician", f"no active user {technician!r}")
            a = Appointment(ticket_id=ticket_id, starts_at=starts_at, ends_at=ends_at, place=place,
                            technician=technician, note=note, booked_by=actor, created_at=now)
            s.add(a)
            s.add(TicketHistory(ticket_id=ticket_id, at=now, actor=actor, field="appointment",
                                new=f"{iso(starts_at)} - {iso(ends_at)}", note=f"{technician} @ {place}"))
            ticket.updated_at = now
            s.flush()
            return appointment_dict(a), ticket_dict(ticket, now)

    def of_ticket(self, ticket_id: int) -> list[dict[str, Any]]:
        with self.sessions() as s:
            if s.get(Ticket, ticket_id) is None:
                raise NotFound("id", f"no ticket {ticket_id}")
            rows = s.scalars(select(Appointment).where(Appointment.ticket_id == ticket_id)
                             .order_by(Appointment.starts_at, Appointment.id))
            return [appointment_dict(a) for a in rows]

    def between(self, start: datetime, end: datetime, viewer: Viewer,
                technician: str | None = None) -> list[dict[str, Any]]:
        """Appointments starting in [start, end) on tickets the viewer may see, by start."""
        if not timedelta(0) < end - start <= MAX_SPAN:
            raise DeskError("to", "must be after from, at most 400 days later")
        q = (select(Appointment, Ticket).join(Ticket, Ticket.id == Appointment.ticket_id)
             .where(Appointment.starts_at >= start, Appointment.starts_at < end, visible(viewer))
             .order_by(Appointment.starts_at, Appointment.id).limit(5000))
        if technician:
            q = q.where(Appointment.technician == technician)
        with self.sessions() as s:
            return [appointment_dict(a, t) for a, t in s.execute(q).all()]


def to_ics(appointments: list[dict[str, Any]], domain: str, now: datetime) -> bytes:
    """An iCalendar (RFC 5545) document with one VEVENT per appointment."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//hotline//appointments//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "hotline")
    for a in appointments:
        event = icalendar.Event()
        event.add("uid", f"appointment-{a['id']}@{domain}")
        event.add("dtstamp", now)
        event.add("dtstart", datetime.fromisoformat(a["starts_at"]))
        event.add("dtend", datetime.fromisoformat(a["ends_at"]))
        event.add("summary", f"[#{a['ticket_number']}] {a['ticket_subject']}")
        event.add("location", a["place"])
        event.add("description", "\n".join(x for x in (a["note"], f"technician: {a['technician']}") if x))
        cal.add_component(event)
    ics: bytes = cal.to_ical()
    return ics
