"""A real call to 5555 from a known number: one ticket for that contact, figures as Asterisk's."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from sqlalchemy import select

from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.calls import CallRegistry
from cti.events import CallUpdated
from tests.db_fixture import Sessions
from tests.factories import add_contact, capture_events
from tests.integration.test_bridge_live import wait_until
from tests.pbx_fixture import Pbx
from tickets.calls_service import TicketService
from tickets.events import TicketCreated
from tickets.models import CallRecord, Ticket
from tickets.writer import DbWriter

pytestmark = pytest.mark.asterisk


async def test_real_call_from_known_number_makes_one_ticket(pbx: Pbx, sessions: Sessions) -> None:
    contact = add_contact(sessions, "Erika Muster", "+4934125385577")
    bus = EventBus()
    writer = DbWriter(TicketService(sessions).handle, on_result=bus.publish)
    writer.start()
    bus.subscribe(CallUpdated, writer.submit)
    created = capture_events(bus, TicketCreated)
    bridge = AmiBridge(host="127.0.0.1", port=pbx.ami_port, username=pbx.ami_username,
                       secret=pbx.ami_secret, bus=bus, registry=CallRegistry())
    bridge.start()
    await wait_until(lambda: bridge.resyncs >= 1)
    with pbx.phone("1001", answer_after=1.0):
        call = pbx.place_call("0341 2538-5577", name="Erika Muster", duration=5)
        await wait_until(lambda: len(created) == 1, timeout=45)  # a loaded machine is slow
        assert isinstance(call, subprocess.Popen)
        await asyncio.to_thread(call.wait, 30)
    linkedid = created[0].linkedid
    await wait_until(lambda: bool(pbx.tap.of(linkedid, "AgentComplete")))
    await wait_until(lambda: bridge.registry.call(linkedid) is None)  # ended
    await asyncio.wait_for(writer.drain(), 20)
    await bridge.close()
    await writer.close()
    real = pbx.tap.of(linkedid, "AgentComplete")[0]
    with sessions() as s:
        tickets = s.scalars(select(Ticket).where(Ticket.contact_id == contact)).all()
        rec = s.scalars(select(CallRecord).where(CallRecord.linkedid == linkedid)).one()
    assert len(tickets) == 1 and tickets[0].linkedid == linkedid
    assert rec.ticket_id == tickets[0].id and rec.contact_id == contact
    assert rec.outcome == "answered" and rec.agent == "PJSIP/1001"
    assert abs(rec.wait_seconds - int(real["HoldTime"])) <= 1  # type: ignore[operator]
    assert abs(rec.talk_seconds - int(real["TalkTime"])) <= 1  # type: ignore[operator]
    assert rec.duration_seconds is not None and abs(
        rec.duration_seconds - int(real["HoldTime"]) - int(real["TalkTime"])) <= 1
