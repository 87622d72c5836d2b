"""The FastAGI `status` and `survey` scripts on a real database: what goes back to the
dialplan, what lands on the ticket, who is told (console, wallboard), what is logged."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from callqueue.live import QueueProjection

from agent_console.agi_ivr import IvrScripts
from agent_console.hub import Client, Hub
from agent_console.wallboard import WallboardPush
from cti.agi import AgiRequest
from cti.bus import EventBus
from tests.db_fixture import db_sessions
from tickets.events import SurveyAnswered, TicketUpdated
from tickets.lookup import CustomerLookup
from tickets.models import Contact, Phone, PhoneKind, Ticket, TicketStatus

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
DUE = NOW + timedelta(hours=5)


def _request(script: str, caller: str, *args: str) -> AgiRequest:
    env = {"agi_network_script": script, "agi_callerid": caller, "agi_uniqueid": "7.1"}
    env.update({f"agi_arg_{i}": a for i, a in enumerate(args, 1)})
    return AgiRequest.from_env(env)


def _seed(sessions) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        ids: dict[str, int] = {}
        for key, number in (("ida", "+4934199000001"), ("olaf", "+4934199000002")):
            c = Contact(name=key)
            s.add(c)
            s.flush()
            s.add(Phone(raw=number, normalized=number, kind=PhoneKind.DIRECT, contact_id=c.id))
            ids[key] = c.id
        old = Ticket(number="2026-900001", subject="alt", status=TicketStatus.OPEN, contact_id=ids["ida"],
                     due_at=DUE, updated_at=NOW - timedelta(days=2))
        new = Ticket(number="2026-900002", subject="neu", status=TicketStatus.PENDING, contact_id=ids["ida"],
                     due_at=DUE, updated_at=NOW - timedelta(hours=1), linkedid="call-1",
                     created_at=NOW - timedelta(hours=1))
        done = Ticket(number="2026-900003", subject="fertig", status=TicketStatus.CLOSED, contact_id=ids["olaf"],
                      updated_at=NOW)
        s.add_all([old, new, done])
        s.flush()
        ids.update(old=old.id, new=new.id, done=done.id)
    return ids


@pytest.fixture
def world(database_url: str):  # type: ignore[no-untyped-def]
    with db_sessions(database_url) as sessions:
        ids = _seed(sessions)
        yield sessions, ids
        with sessions.begin() as s:
            s.query(Ticket).filter(Ticket.number.like("2026-9%")).delete()
            s.query(Phone).filter(Phone.normalized.like("+49341990%")).delete()
            s.query(Contact).filter(Contact.id.in_([ids["ida"], ids["olaf"]])).delete()


async def test_status_of_the_own_newest_open_ticket_and_of_keyed_ones(
        world, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    sessions, ids = world
    ivr = IvrScripts(sessions, CustomerLookup(sessions), "Europe/Berlin", lambda: NOW, mask_numbers=True)
    try:
        with caplog.at_level(logging.INFO, "agent_console.agi_ivr"):
            own = dict(await ivr.status(_request("status", "0341 99000001", "call-9")))
        assert own == {"HOTLINE_STATUS_ID": str(ids["new"]), "HOTLINE_STATUS_STATE": "pending",
                       "HOTLINE_STATUS_DUE": str(int(DUE.timestamp())), "HOTLINE_STATUS_TZ": "Europe/Berlin",
                       "HOTLINE_STATUS_RESULT": "ticket"}
        assert "caller +49341••••••01" in caplog.text and "99000001" not in caplog.text
        # Olaf's only ticket is closed: nothing to offer
        assert dict(await ivr.status(_request("status", "+4934199000002", "c")))["HOTLINE_STATUS_RESULT"] == "none"
        keyed = await ivr.status(_request("status", "+4934199000001", "c", str(ids["old"])))
        assert dict(keyed)["HOTLINE_STATUS_ID"] == str(ids["old"])
        assert dict(await ivr.status(_request("status", "+4934199000001", "c", "2026900001")))[
            "HOTLINE_STATUS_RESULT"] == "ticket"  # the full number, keyed without its dash
        for caller, keys, result in (("+4934199000002", str(ids["old"]), "refused"),  # Ida's ticket, Olaf's phone
                                     ("+4934199000001", "987654321", "not_found"),
                                     ("", str(ids["old"]), "invalid"),  # withheld
                                     ("+4934199000001", "12*", "invalid")):
            answer = await ivr.status(_request("status", caller, "c", keys))
            assert answer == [("HOTLINE_STATUS_RESULT", result)], (caller, keys)
        assert ivr.status_fallback(_request("status", "x"), "timeout") == [("HOTLINE_STATUS_RESULT", "none")]
    finally:
        ivr.close()


async def test_survey_answer_lands_on_the_calls_ticket_and_is_pushed(world) -> None:  # type: ignore[no-untyped-def]
    sessions, ids = world
    hub, published, bus = Hub(), [], EventBus()
    WallboardPush(hub, QueueProjection(), lambda: NOW).subscribe(bus)  # as every instance has it

    async def publish(event: object) -> None:
        published.append(event)
        await bus.publish(event)

    boss, agent = Client(1, "boss", None, supervisor=True), Client(2, "anna", "PJSIP/1001", supervisor=False)
    hub.attach(boss, None)
    hub.attach(agent, None)
    ivr = IvrScripts(sessions, CustomerLookup(sessions), "Europe/Berlin", lambda: NOW, publish)
    try:
        assert await ivr.survey(_request("survey", "+4934199000001", "call-1", "4")) == [("HOTLINE_SURVEY", "saved")]
        with sessions() as s:
            ticket = s.get_one(Ticket, ids["new"])
            assert ticket.csat == 4 and ticket.version == 2
        await asyncio.gather(*ivr._tasks)  # the pushes run after the answer went back
        event, answered = published  # on the bus: relayed to web-only instances (codec.RELAYED)
        assert isinstance(event, TicketUpdated) and event.id == ids["new"] and event.csat == 4
        assert answered == SurveyAnswered(ids["new"], 4, 4.0, 1)
        message = boss.queue.get_nowait()
        assert message is not None and message.type == "survey.answered"
        assert message.data["csat"] == 4 and message.data["ticket_id"] == ids["new"]
        assert agent.queue.empty()  # supervisor data
        assert message.data["today"] == {"average": 4.0, "count": 1}  # tickets made today
        for key in ("0", "6", "*", ""):
            assert await ivr.survey(_request("survey", "x", "call-1", key)) == [("HOTLINE_SURVEY", "invalid")]
        assert await ivr.survey(_request("survey", "x", "no-such-call", "5")) == [("HOTLINE_SURVEY", "no_ticket")]
        assert ivr.survey_fallback(_request("survey", "x", "call-1", "5"), "timeout") == [("HOTLINE_SURVEY", "failed")]
        with sessions() as s:
            assert s.get_one(Ticket, ids["new"]).csat == 4
    finally:
        ivr.close()


async def test_today_counts_todays_tickets_only(world) -> None:  # type: ignore[no-untyped-def]
    sessions, ids = world
    with sessions.begin() as s:
        s.get_one(Ticket, ids["old"]).csat = 2
        s.get_one(Ticket, ids["old"]).created_at = NOW - timedelta(days=3)
        s.get_one(Ticket, ids["new"]).csat = 5
        s.get_one(Ticket, ids["new"]).created_at = NOW - timedelta(hours=2)
        s.get_one(Ticket, ids["done"]).csat = 4
        s.get_one(Ticket, ids["done"]).created_at = NOW - timedelta(hours=1)
    ivr = IvrScripts(sessions, CustomerLookup(sessions), "Europe/Berlin", lambda: NOW)
    try:
        assert await ivr.today() == (4.5, 2)
    finally:
        ivr.close()
