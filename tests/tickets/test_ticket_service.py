"""Every answered call becomes exactly one ticket and one call record (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from cti import events as ev
from cti.bus import EventBus
from tests.db_fixture import Sessions
from tests.factories import T0, add_contact, answered_call, call_snapshot, capture_events
from tickets.calls_service import TicketService
from tickets.events import TicketCreated
from tickets.models import CallRecord, Ticket
from tickets.writer import DbWriter


def test_replaying_a_call_twice_creates_one_ticket_and_one_record(sessions: Sessions) -> None:
    contact = add_contact(sessions, "Erika Muster", "+4934125385555")
    service, updates = TicketService(sessions), answered_call("+4934125385555")
    created = [service.handle(u) for u in updates + updates]
    made = [c for c in created if isinstance(c, TicketCreated)]
    assert len(made) == 1 and made[0].contact_id == contact
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
        rec = s.scalars(select(CallRecord)).one()
        ticket = s.get(Ticket, made[0].ticket_id)
    assert rec.ticket_id == made[0].ticket_id and rec.contact_id == contact
    assert (rec.wait_seconds, rec.talk_seconds, rec.duration_seconds) == (7.0, 120.0, 127.0)
    assert rec.outcome == "answered" and rec.agent == "PJSIP/1001"
    assert rec.ended_at == T0 + timedelta(seconds=127) and rec.ended_at.tzinfo is not None
    assert rec.caller_name == "<script>alert(1)</script>"  # stored as data, escaped at display
    assert ticket is not None and ticket.number == f"{ticket.created_at.year}-{ticket.id:06d}"


def test_unknown_and_ambiguous_callers_get_a_placeholder_ticket(sessions: Sessions) -> None:
    add_contact(sessions, "A", "+4930111")
    add_contact(sessions, "B", "+4930111")  # two contacts share the number
    service = TicketService(sessions)
    made = [service.handle(u) for u in answered_call("+4930111") + answered_call(None)]
    tickets = [m for m in made if m is not None]
    assert len(tickets) == 2 and all(t.contact_id is None for t in tickets)


def test_abandoned_call_gets_a_record_but_no_ticket(sessions: Sessions) -> None:
    end = call_snapshot("1795000001.1", caller_number="+4940", ended_at=T0 + timedelta(seconds=30),
                        wait_seconds=30.0, duration_seconds=30.0, outcome=ev.Outcome.ABANDONED)
    service = TicketService(sessions)
    assert service.handle(ev.CallUpdated(T0, ev.CallChange.ENDED, end)) is None
    with sessions() as s:
        rec = s.scalars(select(CallRecord)).one()
        assert rec.outcome == "abandoned" and rec.ticket_id is None
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_writer_keeps_the_loop_free_and_publishes_ticket_created(sessions: Sessions) -> None:
    bus = EventBus()
    seen = capture_events(bus, TicketCreated)
    writer = DbWriter(TicketService(sessions).handle, on_result=bus.publish)
    writer.start()
    bus.subscribe(ev.CallUpdated, writer.submit)
    for i in range(20):
        for u in answered_call(f"+49301{i:04d}"):
            await bus.publish(u)
    await asyncio.wait_for(writer.drain(), 30)
    await writer.close()
    assert len(seen) == 20 and len({t.ticket_number for t in seen}) == 20


def test_the_record_says_which_route_the_call_took_and_why(sessions: Sessions) -> None:
    route = ev.CallRoute(reason="team", team="Werke", language="en", priority=10, priority_reason="critical_ticket")
    end = call_snapshot("1795000002.1", caller_number="+4940", ended_at=T0 + timedelta(seconds=30),
                        wait_seconds=30.0, duration_seconds=30.0, outcome=ev.Outcome.ABANDONED, route=route)
    TicketService(sessions).handle(ev.CallUpdated(T0, ev.CallChange.ENDED, end))
    with sessions() as s:
        rec = s.scalars(select(CallRecord)).one()
        assert (rec.route_reason, rec.route_team, rec.route_language, rec.route_priority_reason) == (
            "team", "Werke", "en", "critical_ticket")
