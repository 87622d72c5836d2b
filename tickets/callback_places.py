"""Virtual places: the callback items of callers who pressed 1 while waiting.

Layer: service (sync, SQLAlchemy; runs on a worker thread, never on the loop).
Must not import agent_console. The decisions are callqueue.callbacks'; this only
stores them, so a place survives a `hotline serve` restart.

`request` is idempotent per Linkedid (pressing 1 twice, or a replayed AGI request,
makes one item): in one transaction it makes the callback item (reason `callback`,
the place waiting), the ticket for the call (its Linkedid, like an answered call's
ticket) and links the call record to both, creating the record if the bridge has
not written it yet (the ENDED update later fills in the rest and keeps the links; a
caller who pressed 1 during the offer, before joining the queue, has no ENDED: the
record starts with outcome `callback`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from callqueue.callbacks import PlaceState, VirtualPlace
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from tickets.lookup import direct_contact
from tickets.models import Callback, CallbackStatus, CallRecord, Contact, Priority, Ticket
from tickets.sites import DEFAULT_SITE
from tickets.sla import SlaPolicy
from tickets.subjects import call_subject


@dataclass(frozen=True, slots=True)
class CallbackCaller:
    raw: str
    number: str
    name: str
    waited_seconds: float | None
    ticket_id: int | None


_ACTIVE = (PlaceState.WAITING.value, PlaceState.DIALING.value)


def _insert(session: Session, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model))


def _place(item: Callback) -> VirtualPlace:
    return VirtualPlace(callback_id=item.id, queue=item.queue, joined_at=item.place_at or item.first_call_at,
                        number=item.caller_number, state=PlaceState(item.place_state),
                        attempts=item.place_attempts, not_before=item.place_not_before,
                        dialing_since=item.place_dialing_since, agent=item.place_agent)


class CallbackPlaces:
    def __init__(self, sessions: sessionmaker[Session], policy: SlaPolicy | None = None,
                 site: str = DEFAULT_SITE) -> None:
        self.sessions, self.policy, self.site = sessions, policy, site  # the bridge's site: the calls

    def request(self, linkedid: str, number: str, caller_raw: str, caller_name: str, queue: str,
                joined_at: datetime, now: datetime) -> int:
        """The callback item's id (the existing one when this call asked already)."""
        with self.sessions.begin() as session:
            found = session.scalar(select(Callback.id).where(Callback.site == self.site,
                                                             Callback.linkedid == linkedid))
            if found is not None:
                return int(found)
            contact = direct_contact(session, number)
            ticket = self._ticket(session, linkedid, caller_raw, number, contact, now)
            item = Callback(caller_number=number, caller_raw=caller_raw[:64], caller_name=caller_name[:200],
                            contact_id=contact, queue=queue, reason="callback", attempts=1,
                            first_call_at=joined_at, last_call_at=joined_at, linkedid=linkedid, site=self.site,
                            ticket_id=ticket, place_state=PlaceState.WAITING.value, place_at=joined_at)
            session.add(item)
            session.flush()
            stmt = _insert(session, CallRecord).values(
                site=self.site, linkedid=linkedid, caller_number=number, caller_raw=caller_raw[:64],
                caller_name=caller_name[:200], queue=queue, entered_at=joined_at, contact_id=contact,
                outcome="callback")
            session.execute(stmt.on_conflict_do_nothing(index_elements=["site", "linkedid"]))
            session.execute(update(CallRecord).where(CallRecord.site == self.site, CallRecord.linkedid == linkedid)
                            .values(callback_id=item.id, ticket_id=ticket))
            return item.id

    def _ticket(self, session: Session, linkedid: str, caller_raw: str, number: str,
                contact: int | None, now: datetime) -> int:
        existing = session.scalar(select(Ticket.id).where(Ticket.site == self.site, Ticket.linkedid == linkedid))
        if existing is not None:
            return int(existing)
        language = session.scalar(select(Contact.language).where(Contact.id == contact)) if contact else None
        ticket = Ticket(number=f"pending-{linkedid}"[:20], linkedid=linkedid, site=self.site, contact_id=contact,
                        subject=call_subject(caller_raw, number, language), created_at=now, updated_at=now,
                        due_at=self.policy.due(now, Priority.NORMAL) if self.policy else None)
        session.add(ticket)
        session.flush()
        ticket.number = f"{now.year}-{ticket.id:06d}"
        return ticket.id

    def active(self) -> list[VirtualPlace]:
        """This site's places waiting or being dialled, oldest first (another site's bridge
        dials its own: a place is kept in the queue of the Asterisk the caller called)."""
        with self.sessions() as session:
            items = session.scalars(select(Callback).where(Callback.site == self.site,
                                                           Callback.place_state.in_(_ACTIVE))
                                    .order_by(Callback.place_at, Callback.id)).all()
            return [_place(i) for i in items]

    def place(self, callback_id: int) -> VirtualPlace | None:
        with self.sessions() as session:
            item = session.get(Callback, callback_id)
            return _place(item) if item is not None and item.place_state else None

    def caller(self, callback_id: int) -> CallbackCaller | None:
        """Who a callback calls, how long they waited before asking, and their ticket
        (the call record's wait; 0 for a caller who pressed 1 before joining the queue)."""
        with self.sessions() as session:
            item = session.get(Callback, callback_id)
            if item is None:
                return None
            waited = session.scalar(select(CallRecord.wait_seconds).where(
                CallRecord.site == item.site, CallRecord.linkedid == item.linkedid)) if item.linkedid else None
            return CallbackCaller(item.caller_raw, item.caller_number, item.caller_name,
                                  waited, item.ticket_id)

    def refuse(self, callback_id: int, reason: str) -> None:
        """A callback hotline will not dial (the dial allow-list): the item, open for an
        agent, says why; its virtual place, if it has one still active, is given up."""
        with self.sessions.begin() as session:
            session.execute(update(Callback).where(Callback.id == callback_id).values(refused=reason[:300]))
            session.execute(update(Callback).where(Callback.id == callback_id, Callback.place_state.in_(_ACTIVE))
                            .values(place_state=PlaceState.GIVEN_UP.value, place_agent="",
                                    place_dialing_since=None))

    def save(self, place: VirtualPlace) -> None:
        """Store a decision; a place DONE closes its callback item (a given-up one stays open)."""
        values: dict[str, Any] = {
            "place_state": place.state.value, "place_attempts": place.attempts,
            "place_not_before": place.not_before, "place_dialing_since": place.dialing_since,
            "place_agent": place.agent[:64]}
        if place.state is PlaceState.DONE:
            values.update(status=CallbackStatus.DONE, done_by="callback")
        with self.sessions.begin() as session:
            session.execute(update(Callback).where(Callback.id == place.callback_id).values(**values))
