"""Scale-out over real Redis, continued: a ticket edit on any instance reaches the
WebSockets of every instance exactly once (TicketUpdated on the peers channel, both
ways), and a second bridge instance on the same channels is reported, not ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from agent_console.app import create_app
from agent_console.scaleout import codec
from agent_console.settings import Settings
from cti.agi import AgiRequest
from cti.testing import FakeAmiServer
from tests.console.redis.rig import (
    AMI_SECRET,
    log_in,
    messages,
    services,
    synced,
    ticket_updates,
    wait_until,
)
from tickets.events import TicketCreated, TicketUpdated
from tickets.models import Ticket


@pytest.fixture()
def other(client: TestClient, settings: Settings) -> Iterator[TestClient]:
    """A second web-only instance."""
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.timeout(90)
def test_a_ticket_edit_on_any_instance_reaches_every_instances_websockets_exactly_once(
        client: TestClient, bridge: TestClient, other: TestClient) -> None:
    instances = {"web": client, "bridge": bridge, "other web": other}
    for c in (client, other):
        synced(c)  # subscribed, and the bridge (which answered) too
    users = {name: log_in(c, "anna") for name, c in instances.items()}
    sven = log_in(client, "sven")
    r = users["web"].send("POST", "/api/tickets", json={"subject": "Drucker", "priority": "normal"})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    with users["web"].ws() as w_web, users["bridge"].ws() as w_bridge, users["other web"].ws() as w_other, \
            sven.ws() as w_sven:
        sockets = {"web": w_web, "bridge": w_bridge, "other web": w_other}
        for w in (*sockets.values(), w_sven):
            assert w.receive_json()["type"] == "snapshot"
        # an edit on a web-only instance
        r = users["web"].send("PATCH", f"/api/tickets/{tid}", json={"subject": "Drucker <b>3</b>", "status": "open"})
        assert r.status_code == 200, r.text
        edited = r.json()
        for name, w in sockets.items():
            assert ticket_updates(instances[name], w, expect=1) == [edited], name
        assert ticket_updates(client, w_sven, expect=1) == [edited]  # the same audience as before: everyone
        # an escalation on the bridge instance
        r = users["bridge"].send("POST", f"/api/tickets/{tid}/escalate", json={"level": 2, "reason": "VPN"})
        assert r.status_code == 200, r.text
        escalated = r.json()
        assert escalated["level"] == 2
        for name, w in sockets.items():
            assert ticket_updates(instances[name], w, expect=1) == [escalated], name
        # an escalation on the other web-only instance
        r = users["other web"].send("POST", f"/api/tickets/{tid}/escalate", json={"level": 3, "reason": "L2 stuck"})
        assert r.status_code == 200, r.text
        for name, w in sockets.items():
            assert ticket_updates(instances[name], w, expect=1) == [r.json()], name
    for c in (client, other):
        assert services(c).bus_link.peer_events_dropped == 0
    assert services(bridge).bus_link.peer_events_in == 2 and services(client).bus_link.peer_events_in == 2


@pytest.mark.timeout(90)
def test_a_second_bridge_instance_on_the_same_channels_makes_both_degraded(
        client: TestClient, bridge: TestClient, fake: FakeAmiServer, settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    synced(client)
    sven = log_in(bridge, "sven")
    health = sven.get("/healthz")
    assert health.status_code == 200 and health.json()["problems"] == [], health.text
    first = services(bridge).bus_link.origin
    own = settings.model_copy(update={"ami_enabled": True, "ami_port": fake.port, "ami_secret": SecretStr(AMI_SECRET)})
    with caplog.at_level(logging.ERROR, logger="agent_console.scaleout.relay"), TestClient(create_app(own)) as second:
        wait_until(lambda: services(second).pbx.bridge.resyncs >= 1, "the second bridge's resync")
        assert services(second).pbx.connected
        second_id = services(second).bus_link.origin
        wait_until(lambda: services(bridge).bus_link.duplicates() == [second_id], "the first bridge to hear it")
        wait_until(lambda: services(second).bus_link.duplicates() == [first], "the second bridge to hear it")
        for c, me, them in ((bridge, first, second_id), (second, second_id, first)):
            body = log_in(c, "sven").get("/healthz")
            assert body.status_code == 503, body.text
            data = body.json()
            assert data["status"] == "degraded" and data["ami"] == "connected" and data["database"] == "ok"
            [problem] = data["problems"]
            assert "another bridge instance" in problem and me in problem and them in problem
            assert data["bus"]["duplicate_bridges"] == [them]
            metrics = log_in(c, "sven").get("/metrics").text
            assert "hotline_bridge_duplicates 1.0" in metrics
            assert "hotline_bridge_duplicate_detections_total 1.0" in metrics
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert any(first in m and second_id in m for m in errors), errors
    # a web-only instance is no bridge: it never counts as one
    assert services(client).bus_link.link.up
    assert log_in(client, "sven").get("/healthz").json()["problems"] == []


def test_ticket_updated_is_exactly_the_ticket_json_and_crosses_only_as_a_peer_event() -> None:
    ticket = {"id": 7, "number": "2026-000007", "subject": "Drucker", "description": "", "status": "open",
              "priority": "high", "level": 2, "team": "L2", "assignee": "", "category": "", "channel": "phone",
              "first_contact_resolution": False, "contact_id": None, "organisation_id": None,
              "linkedid": "1700000100.1", "department_id": 3, "level_due_at": "2026-11-23T12:00:00+00:00",
              "level_overdue": False, "taskforce_at": None, "resolved_at": None,
              "due_at": "2026-11-23T15:00:00+00:00", "overdue": False,
              "created_at": "2026-11-23T08:00:00.123456+00:00", "updated_at": "2026-11-23T08:05:00+00:00",
              "version": 3, "csat": 4, "site": "main"}
    event = TicketUpdated.of(ticket)
    assert event.json() == ticket
    back = codec.decode(codec.encode(codec.PeerEvent("o" * 32, event)))
    assert isinstance(back, codec.PeerEvent) and back.event == event and back.event.json() == ticket
    with pytest.raises(ValueError):  # a field the event does not know: the two must not drift apart
        TicketUpdated.of({**ticket, "sla": "x"})
    with pytest.raises(codec.CodecError):  # not on the numbered bridge stream
        codec.encode(codec.EventMessage("o", 1, event))
    wire = codec.encode(codec.PeerEvent("o", event))
    created = codec.encode(codec.EventMessage("o", 1, TicketCreated("l", 1, "n", None, None)))
    with pytest.raises(codec.CodecError):  # a PeerEvent carries a TicketUpdated, nothing else
        codec.decode(wire.replace(b'"type":"TicketUpdated"', b'"type":"TicketCreated"'))
    with pytest.raises(codec.CodecError):
        codec.decode(created.replace(b'"type":"TicketCreated"', b'"type":"TicketUpdated"'))
    with pytest.raises(codec.CodecError):  # naive datetimes never cross
        codec.encode(codec.PeerEvent("o", TicketUpdated.of({**ticket, "due_at": "2026-11-23T15:00:00"})))
    assert codec.decode(codec.encode(codec.BridgeAnnouncement("b" * 32))) == codec.BridgeAnnouncement("b" * 32)


@pytest.mark.timeout(90)
def test_a_survey_answer_reaches_the_wallboards_of_every_instance_exactly_once(
        client: TestClient, bridge: TestClient, other: TestClient) -> None:
    """The answer comes in on the bridge instance (FastAGI `survey`); supervisors on the
    web-only instances get `survey.answered` too (SurveyAnswered is relayed), agents don't."""
    instances = {"web": client, "bridge": bridge, "other web": other}
    for c in (client, other):
        synced(c)
    desk = services(bridge).desk
    with desk.sessions.begin() as s:
        ticket = Ticket(number="t-survey", subject="Drucker", linkedid="1733040000.7")
        s.add(ticket)
        s.flush()
        tid = ticket.id
    bosses = {name: log_in(c, "sven") for name, c in instances.items()}
    anna = log_in(client, "anna")
    with bosses["web"].ws() as w_web, bosses["bridge"].ws() as w_bridge, bosses["other web"].ws() as w_other, \
            anna.ws() as w_anna:
        sockets = {"web": w_web, "bridge": w_bridge, "other web": w_other}
        for w in (*sockets.values(), w_anna):
            assert w.receive_json()["type"] == "snapshot"
        request = AgiRequest.from_env({"agi_network_script": "survey", "agi_callerid": "+4934199000001",
                                       "agi_uniqueid": "1733040000.7", "agi_arg_1": "1733040000.7", "agi_arg_2": "4"})
        surveys = services(bridge).surveys
        assert bridge.portal.call(surveys.survey, request) == [("HOTLINE_SURVEY", "saved")]  # type: ignore[union-attr]
        for name, w in sockets.items():
            got = messages(instances[name], w, "survey.answered", expect=1)
            assert got == [{"ticket_id": tid, "csat": 4, "today": {"average": 4.0, "count": 1}}], name
        assert messages(client, w_anna, "survey.answered") == []  # supervisors' data
