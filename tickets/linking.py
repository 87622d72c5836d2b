"""Link a call to a contact after the fact (a withheld or unknown caller found by
search): the call record gets the contact, and so does its ticket if it has none.

Layer: service (sync; run it off the event loop). The ticket's change goes the
desk's way: its version raised in the statement that locks it, one history row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tickets.desk import DeskError, NotFound, TicketDesk, call_dict, ticket_dict
from tickets.models import CallRecord, Contact, Ticket, TicketHistory
from tickets.sites import DEFAULT_SITE


def link_call(sessions: sessionmaker[Session], linkedid: str, contact_id: int, actor: str,
              now: datetime | None = None, site: str = DEFAULT_SITE) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the call record, its ticket if that changed, else None). NotFound for an unknown
    call, DeskError for an unknown contact; nothing changes then."""
    now = now or datetime.now(UTC)
    with sessions.begin() as s:
        record = s.scalars(select(CallRecord).where(CallRecord.site == site,
                                                    CallRecord.linkedid == linkedid)).one_or_none()
        if record is None:
            raise NotFound("linkedid", f"no call {linkedid}")
        if isinstance(contact_id, bool) or s.get(Contact, contact_id) is None:
            raise DeskError("contact_id", f"no contact {contact_id}")
        record.contact_id = contact_id
        changed = None
        ticket = s.get(Ticket, record.ticket_id) if record.ticket_id is not None else None
        if ticket is not None and ticket.contact_id is None:
            ticket = TicketDesk.lock_for_change(s, ticket.id, None, now)
            ticket.contact_id, ticket.updated_at = contact_id, now
            s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=actor, field="contact_id", old="",
                                new=str(contact_id), note=f"linked from call {linkedid}"))
            changed = ticket_dict(ticket, now)
        s.flush()
        return call_dict(record), changed
