"""Every answered call becomes exactly one ticket and one call record (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from cti import events as ev
from cti.bus import EventBus
from tickets.calls_service import TicketService
from tickets.db import make_engine, session_factory
from tickets.events import TicketCreated
from tickets.models import CallRecord, Contact, Phone, PhoneKind, Ticket
from tickets.writer import DbWriter

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


@pytest.fixture
def sessions(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    factory = session_factory(engine)
    yield factory
    with factory.begin() as s:
        for model in (CallRecord, Ticket, Phone, Contact):
            s.execute(delete(model))
    engine.dispose()


def snapshot(linkedid: str, number: str | None, **kw: object) -> ev.CallSnapshot:
    base: dict[str, object] = dict(
        linkedid=linkedid, caller_raw=number or "anonymous", caller_number=number,
        caller_name="<script>alert(1)</script>", queue="hotline", entered_at=T0, position=1,
        ringing_agents=(), answered_at=None, agent=None, ended_at=None, outcome=None,
        wait_seconds=None, ring_seconds=None, talk_seconds=None, duration_seconds=None,
        transferred_to=None)
    base.update(kw)
    return ev.CallSnapshot(**base)  # type: ignore[arg-type]


def answered_call(number: str | None) -> list[ev.CallUpdated]:
    lid = f"1795000000.{next(_ids)}"
    ans = snapshot(lid, number, answered_at=T0 + timedelta(seconds=7), agent="PJSIP/1001",
                   wait_seconds=7.0, ring_seconds=3.0, outcome=ev.Outcome.ANSWERED)
    end = snapshot(lid, number, answered_at=ans.answered_at, agent="PJSIP/1001", wait_seconds=7.0,
                   ring_seconds=3.0, talk_seconds=120.0, duration_seconds=127.0,
                   ended_at=T0 + timedelta(seconds=127), outcome=ev.Outcome.ANSWERED)
    return [ev.CallUpdated(T0, ev.CallChange.ANSWERED, ans), ev.CallUpdated(T0, ev.CallChange.ENDED, end)]


def add_contact(sessions, name: str, number: str) -> int:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        c = Contact(name=name)
        s.add(c)
        s.flush()
        s.add(Phone(raw=number, normalized=number, kind=PhoneKind.DIRECT, contact_id=c.id))
        return c.id


def test_replaying_a_call_twice_creates_one_ticket_and_one_record(sessions) -> None:  # type: ignore[no-untyped-def]
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


def test_unknown_and_ambiguous_callers_get_a_placeholder_ticket(sessions) -> None:  # type: ignore[no-untyped-def]
    add_contact(sessions, "A", "+4930111")
    add_contact(sessions, "B", "+4930111")  # two contacts share the number
    service = TicketService(sessions)
    made = [service.handle(u) for u in answered_call("+4930111") + answered_call(None)]
    tickets = [m for m in made if m is not None]
    assert len(tickets) == 2 and all(t.contact_id is None for t in tickets)


def test_abandoned_call_gets_a_record_but_no_ticket(sessions) -> None:  # type: ignore[no-untyped-def]
    end = snapshot("1795000001.1", "+4940", ended_at=T0 + timedelta(seconds=30),
                   wait_seconds=30.0, duration_seconds=30.0, outcome=ev.Outcome.ABANDONED)
    service = TicketService(sessions)
    assert service.handle(ev.CallUpdated(T0, ev.CallChange.ENDED, end)) is None
    with sessions() as s:
        rec = s.scalars(select(CallRecord)).one()
        assert rec.outcome == "abandoned" and rec.ticket_id is None
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_writer_keeps_the_loop_free_and_publishes_ticket_created(sessions) -> None:  # type: ignore[no-untyped-def]
    bus, seen = EventBus(), []
    bus.subscribe(TicketCreated, seen.append)
    writer = DbWriter(TicketService(sessions).handle, on_result=bus.publish)
    writer.start()
    bus.subscribe(ev.CallUpdated, writer.submit)
    for i in range(20):
        for u in answered_call(f"+49301{i:04d}"):
            await bus.publish(u)
    await asyncio.wait_for(writer.drain(), 30)
    await writer.close()
    assert len(seen) == 20 and len({t.ticket_number for t in seen}) == 20
