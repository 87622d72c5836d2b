"""What the status line and the survey read and write in the database.

Layer: service (sync; the FastAGI scripts run it on their own thread pool, never
on the event loop). Few statements each, by primary key or index: the FastAGI
deadline (300 ms) covers them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tickets.models import Phone, Ticket, TicketStatus
from tickets.phone_status import TicketFacts, TicketRef
from tickets.shapes import ticket_dict
from tickets.sites import DEFAULT_SITE

_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
_COLUMNS = (Ticket.id, Ticket.number, Ticket.status, Ticket.due_at, Ticket.contact_id)


def newest_open(engine: Engine, contact_id: int) -> TicketFacts | None:
    """The contact's open ticket changed last (the one a caller most likely calls about)."""
    stmt = (select(*_COLUMNS).where(Ticket.contact_id == contact_id, Ticket.status.in_(_OPEN))
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(1))
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
        return _facts(conn, row) if row is not None else None


def keyed_ticket(engine: Engine, ref: TicketRef) -> TicketFacts | None:
    where = Ticket.id == ref.id if ref.id is not None else Ticket.number == ref.number
    with engine.connect() as conn:
        row = conn.execute(select(*_COLUMNS).where(where)).first()
        return _facts(conn, row) if row is not None else None


def _facts(conn: Any, row: Any) -> TicketFacts:
    ticket_id, number, status, due_at, contact_id = row
    numbers: frozenset[str] = frozenset()
    if contact_id is not None:
        numbers = frozenset(conn.scalars(select(Phone.normalized).where(Phone.contact_id == contact_id)))
    return TicketFacts(ticket_id, number, str(TicketStatus(status).value), due_at, numbers)


def save_csat(sessions: sessionmaker[Session], linkedid: str, csat: int, now: datetime,
              site: str = DEFAULT_SITE) -> dict[str, Any] | None:
    """The survey answer on the call's ticket (a later answer replaces an earlier one);
    the ticket as the console shows it, or None when the call made no ticket."""
    if not 1 <= csat <= 5:
        raise ValueError("csat is 1 to 5")
    with sessions.begin() as session:
        ticket_id = session.execute(
            update(Ticket).where(Ticket.site == site, Ticket.linkedid == linkedid)
            .values(csat=csat, version=Ticket.version + 1, updated_at=now)
            .returning(Ticket.id)).scalar_one_or_none()
        if ticket_id is None:
            return None
        return ticket_dict(session.get_one(Ticket, ticket_id), now)


def csat_since(engine: Engine, since: datetime) -> tuple[float | None, int]:
    """Mean survey answer and count of the tickets made since `since` (e.g. today)."""
    stmt = select(func.avg(Ticket.csat), func.count(Ticket.csat)).where(
        Ticket.csat.is_not(None), Ticket.created_at >= since)
    with engine.connect() as conn:
        mean, count = conn.execute(stmt).one()
    return (round(float(mean), 2) if mean is not None else None), int(count)
