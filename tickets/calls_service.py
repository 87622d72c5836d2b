"""TicketService: every answered call becomes exactly one ticket and one call record.

Layer: service. Sync methods run on the DbWriter's thread (never on the event
loop); idempotent per Linkedid through unique indexes and insert-or-ignore, so
replaying the same events creates nothing twice, on SQLite and PostgreSQL.
Must not import agent_console.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from cti import events as ev
from tickets.events import TicketCreated
from tickets.models import CallRecord, Phone, PhoneKind, Ticket

_RECORD_FIELDS = ("caller_number", "caller_raw", "caller_name", "queue", "entered_at",
                  "answered_at", "ended_at", "wait_seconds", "ring_seconds", "talk_seconds",
                  "duration_seconds", "position", "agent")


def _insert(session: Session, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model))


class TicketService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def handle(self, update_: ev.CallUpdated) -> TicketCreated | None:
        if update_.change == ev.CallChange.ANSWERED:
            return self._answered(update_.call)
        if update_.change == ev.CallChange.ENDED:
            self._ended(update_.call)
        return None

    def _values(self, call: ev.CallSnapshot) -> dict[str, Any]:
        values = {f: getattr(call, f) for f in _RECORD_FIELDS}
        values["caller_raw"] = (call.caller_raw or "")[:64]
        values["caller_name"] = (call.caller_name or "")[:200]
        return values

    def _upsert_record(self, session: Session, call: ev.CallSnapshot, **extra: Any) -> None:
        values = {**self._values(call), **extra}
        stmt = _insert(session, CallRecord).values(linkedid=call.linkedid, **values)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["linkedid"]))
        present = {k: v for k, v in values.items() if v is not None}
        session.execute(update(CallRecord).where(CallRecord.linkedid == call.linkedid)
                        .values(**present))

    def _contact_for(self, session: Session, number: str | None) -> int | None:
        if not number:
            return None
        ids = session.scalars(select(Phone.contact_id).where(
            Phone.normalized == number, Phone.kind == PhoneKind.DIRECT).distinct()).all()
        return ids[0] if len(ids) == 1 else None  # ambiguous: the agent chooses

    def _answered(self, call: ev.CallSnapshot) -> TicketCreated | None:
        with self.sessions.begin() as session:
            contact = self._contact_for(session, call.caller_number)
            self._upsert_record(session, call, contact_id=contact)
            now = datetime.now(UTC)
            stmt = _insert(session, Ticket).values(
                number=f"pending-{call.linkedid}"[:20], linkedid=call.linkedid,
                subject=f"Call from {call.caller_raw or 'unknown caller'}"[:300],
                contact_id=contact, created_at=now, updated_at=now)
            new_id = session.execute(stmt.on_conflict_do_nothing(index_elements=["linkedid"])
                                     .returning(Ticket.id)).scalar_one_or_none()
            if new_id is None:
                return None  # already created: a replayed event
            ticket = session.get_one(Ticket, new_id)
            ticket.number = f"{now.year}-{ticket.id:06d}"
            session.execute(update(CallRecord).where(CallRecord.linkedid == call.linkedid)
                            .values(ticket_id=ticket.id))
            return TicketCreated(call.linkedid, ticket.id, ticket.number, contact, call.agent)

    def _ended(self, call: ev.CallSnapshot) -> None:
        with self.sessions.begin() as session:
            contact = self._contact_for(session, call.caller_number)
            outcome = call.outcome.value if call.outcome else None
            self._upsert_record(session, call, contact_id=contact, outcome=outcome)
