"""Scale-out over real Redis: one bridge instance (fed by the fake AMI server) and
web-only instances, each a real create_app, sharing a channel prefix unique to the
test. Pops, withdrawals and ticket ids reach a web-only instance's WebSockets; it
writes nothing; a late one gets the live state; agent actions reach the bridge's
AMI once; a Redis outage shows on /healthz and heals. Plus the codec's round trips.

Redis and the fixtures: rig.py and conftest.py beside this file.
"""

from __future__ import annotations

import dataclasses
import enum
import time
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from agent_console.app import create_app
from agent_console.scaleout import codec
from agent_console.settings import Settings
from cti import events as ev
from cti.connection import AmiError
from cti.testing import FakeAmiServer
from tests.console.conftest import settled_match
from tests.console.redis.rig import (
    answer,
    behind_proxy,
    count,
    hang_up,
    join,
    log_in,
    ring,
    services,
    synced,
    until,
    wait_until,
)
from tickets.models import CallRecord, Ticket

# --- the codec ---------------------------------------------------------------------

_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])


def strategy(hint: Any) -> st.SearchStrategy[Any]:
    """Values of a declared field type, built from the dataclasses' own hints (so a
    field added to an event is covered without touching this test)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return st.one_of(*(strategy(a) for a in args))
    if hint is type(None):
        return st.none()
    if hint is datetime:
        return st.datetimes(timezones=_ZONES)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return st.builds(hint, **{f.name: strategy(hints[f.name]) for f in dataclasses.fields(hint)})
    if origin is frozenset:
        return st.frozensets(strategy(args[0]), max_size=4)
    if origin is tuple and args[-1] is Ellipsis:
        return st.lists(strategy(args[0]), max_size=4).map(tuple)
    if origin is tuple:
        return st.tuples(*(strategy(a) for a in args))
    if hint is object:
        return st.one_of(*(strategy(t) for t in codec.RELAYED))
    return {str: st.text(st.characters(codec=None, exclude_categories=())), int: st.integers(),
            bool: st.booleans(), float: st.floats(allow_nan=False, allow_infinity=False)}[hint]


@pytest.mark.parametrize("kind", codec.RELAYED, ids=lambda t: t.__name__)
@hsettings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_relayed_event_round_trips(kind: type, data: st.DataObject) -> None:
    event = data.draw(strategy(kind))
    message = codec.EventMessage(origin="o" * 32, seq=data.draw(st.integers(0, 2**53)), event=event)
    wire = codec.encode(message)
    assert wire.isascii()
    back = codec.decode(wire)
    assert back == message and type(back.event) is kind  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", codec.MESSAGES, ids=lambda t: t.__name__)
@hsettings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_relay_message_round_trips(kind: type, data: st.DataObject) -> None:
    message = data.draw(strategy(kind))
    assert codec.decode(codec.encode(message)) == message


def test_the_codec_refuses_what_is_not_ours() -> None:
    at = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    good = codec.encode(codec.EventMessage("o", 1, ev.PbxConnected(at=at, restarted=False)))
    bad = [
        b"\x80\x04\x95pickle", b"[]", good.replace(b'"v":4', b'"v":3'),  # the version before live figures
        good.replace(b"PbxConnected", b"ResyncCompleted"),  # a real event, but not relayed
        good.replace(b'"restarted":false', b'"restarted":0'),  # wrong type
        good.replace(b',"restarted":false', b""),  # missing field
        good.replace(b'"restarted":false', b'"restarted":false,"extra":1'),
        good.replace(b"+00:00", b""),  # a naive datetime
    ]
    for data in bad:
        with pytest.raises(codec.CodecError):
            codec.decode(data)
    with pytest.raises(codec.CodecError):  # the bridge's own events stay in its process
        codec.encode(codec.EventMessage("o", 1, ev.ResyncCompleted(at=at, active_linkedids=frozenset())))
    with pytest.raises(codec.CodecError):
        codec.encode(codec.EventMessage("o", 1, ev.PbxConnected(at=at.replace(tzinfo=None), restarted=False)))


# --- two (or three) instances over real Redis ----------------------------------------------


@pytest.mark.timeout(60)
def test_pops_withdrawals_and_ticket_ids_reach_a_web_only_instance_which_writes_nothing(
        client: TestClient, bridge: TestClient, side: BlockingPortal, fake: FakeAmiServer, settings: Settings) -> None:
    anna, bert, sven = log_in(client, "anna"), log_in(client, "bert"), log_in(client, "sven")
    r = anna.send("POST", "/api/customers", json={"name": "Erika Muster", "organization": "Stadtwerke",
                                                   "phones": ["0341 2538-5555"]})
    assert r.status_code in (200, 201), r.text
    synced(client)
    lid = "1700000100.11"
    with anna.ws() as wa, bert.ws() as wb, sven.ws() as ws:
        for w in (wa, wb, ws):
            assert w.receive_json()["type"] == "snapshot"
        join(side, fake, lid)
        ring(side, fake, lid, "PJSIP/1001")
        pop = until(wa, "call.ringing")["data"]
        assert pop["linkedid"] == lid and pop["caller"]["name"] == "Erika <b>M</b>"
        match = settled_match(wa, pop)
        assert match["status"] == "known" and match["contact"]["name"] == "Erika Muster"
        assert until(ws, "queue.updated")["data"]["waiting_count"] == 1
        answer(side, fake, lid, "PJSIP/1002")  # bert answers: anna's pop is withdrawn
        assert until(wa, "call.withdrawn")["data"] == {"linkedid": lid, "reason": "answered_elsewhere", "site": "main"}
        ticket = until(wb, "ticket.created")["data"]  # written by the bridge instance, relayed
        assert ticket["linkedid"] == lid and ticket["ticket_id"]
        assert until(ws, "ticket.created")["data"]["ticket_id"] == ticket["ticket_id"]
        hang_up(side, fake, lid)
        assert until(wb, "call.ended")["data"]["linkedid"] == lid
    web, own = services(client), services(bridge)
    wait_until(lambda: own.writer.written >= 2, "the bridge's writer (answer and end)")
    assert web.writer.written == 0 and web.writer.backlog == 0  # the web-only instance never writes
    assert count(settings.database_url, Ticket) == 1 and count(settings.database_url, CallRecord) == 1
    health = sven.get("/healthz").json()
    assert health["status"] == "ok" and health["ami"] == "connected"
    assert health["bus"]["status"] == "connected" and health["bus"]["role"] == "web"
    assert sven.get("/healthz").status_code == 200


@pytest.mark.timeout(60)
def test_a_web_instance_started_during_a_call_gets_the_live_state(
        app: Any, bridge: TestClient, side: BlockingPortal, fake: FakeAmiServer, settings: Settings) -> None:
    lid = "1700000100.21"
    join(side, fake, lid, number="+49 341 999")
    ring(side, fake, lid, "PJSIP/1001")
    wait_until(lambda: services(bridge).pbx.registry.call(lid) is not None, "the bridge to know the call")
    with TestClient(create_app(settings)) as late:  # started while PJSIP/1001 rings
        synced(late)
        anna, sven = log_in(late, "anna"), log_in(late, "sven")
        wait_until(lambda: bool(services(late).notifier.book.ringing_for("PJSIP/1001")), "the late instance's pop")
        with anna.ws() as wa, sven.ws() as ws:
            snap = wa.receive_json()
            assert snap["type"] == "snapshot" and snap["data"]["pbx_connected"]
            assert [p["linkedid"] for p in snap["data"]["ringing"]] == [lid]
            assert snap["data"]["agent"]["state"] == "ringing"
            queues = ws.receive_json()["data"]["queues"]
            assert [w["linkedid"] for w in queues[0]["waiting"]] == [lid]
            hang_up(side, fake, lid)  # the caller gives up: the late instance withdraws the pop
            assert until(wa, "call.withdrawn")["data"] == {"linkedid": lid, "reason": "caller_left", "site": "main"}
        assert services(late).pbx.registry.calls() == []
        # the wallboard's AHT counts it there too
        assert services(late).queue_feed.projection.wrapup_for("hotline") == 7


@pytest.mark.timeout(60)
@pytest.mark.timing  # the web's Originate timeout measured on the wall clock
def test_agent_actions_from_a_web_only_instance_run_once_on_the_bridges_ami(
        client: TestClient, bridge: TestClient, side: BlockingPortal, fake: FakeAmiServer) -> None:
    anna = log_in(client, "anna")
    synced(client)
    r = anna.send("POST", "/api/agent/pause", json={"reason": "Pause <lunch>"})
    assert r.status_code == 200, r.text
    pause = [a for a in fake.actions if a.get("Action") == "QueuePause"]
    assert len(pause) == 1 and pause[0].get("Interface") == "PJSIP/1001" and pause[0].get("Paused") == "true"
    assert anna.send("POST", "/api/agent/queue-logout").status_code == 200
    assert "QueueRemove" in fake.names()
    # a call anna answered: her channel comes with the relayed call, BlindTransfer goes over Redis
    lid = "1700000100.31"
    join(side, fake, lid)
    answer(side, fake, lid, "PJSIP/1001")
    wait_until(lambda: services(client).pbx.registry.call(lid) is not None, "the web instance's mirror")
    r = anna.send("POST", f"/api/calls/{lid}/transfer", json={"target": "bert"})  # a directory target
    assert r.status_code == 200, r.text
    blind = [a for a in fake.actions if a.get("Action") == "BlindTransfer"]
    assert [(a.get("Channel"), a.get("Exten")) for a in blind] == [("PJSIP/1001-0000000a", "1002")]
    # the fake PBX never answers an Originate: 503 after the web's timeout, and it is not sent again
    started = time.monotonic()
    r = anna.send("POST", "/api/agent/dial", json={"number": "0341 123"})
    assert r.status_code == 503 and "did not answer Originate" in r.json()["detail"], r.text
    assert time.monotonic() - started < 4
    relay = services(bridge).bus_link
    wait_until(lambda: not any(t.get_name().startswith("redis-action") for t in relay.tasks),
               "the bridge's own AMI timeout for the Originate")
    assert fake.names().count("Originate") == 1
    # Redis is no way to run other AMI commands: refused, as Asterisk's refusals are (502)
    with pytest.raises(AmiError, match="not relayed"):
        client.portal.call(services(client).pbx.send, "Command", {"Command": "core stop now"})  # type: ignore[union-attr]
    assert "Command" not in fake.names()


@pytest.mark.timeout(90)
def test_a_redis_outage_shows_on_healthz_and_heals_with_the_state(
        app: Any, bridge: TestClient, side: BlockingPortal, fake: FakeAmiServer, settings: Settings) -> None:
    with behind_proxy(side, settings) as (proxy, via_proxy):
        with TestClient(create_app(via_proxy)) as web:
            synced(web)
            anna, sven = log_in(web, "anna"), log_in(web, "sven")
            lid = "1700000100.41"
            with anna.ws() as wa:
                # connected before the phone rings: a pop that came first would be in the
                # snapshot, not a `call.ringing` message (this test hung on that race)
                assert wa.receive_json()["type"] == "snapshot"
                join(side, fake, lid)
                ring(side, fake, lid, "PJSIP/1001")
                assert until(wa, "call.ringing")["data"]["linkedid"] == lid
                side.call(proxy.cut)  # Redis goes away for the web instance only
                wait_until(lambda: not services(web).bus_link.link.up, "the web instance to notice")
                health = sven.get("/healthz")
                assert health.status_code == 503 and health.json()["bus"]["status"] == "disconnected"
                r = anna.send("POST", "/api/agent/unpause")
                assert r.status_code == 503, r.text
                hang_up(side, fake, lid)  # ends while the web instance hears nothing
                time.sleep(0.3)
                proxy.blocked = False  # Redis is back: reconnect, ask for the state, withdraw the stale pop
                assert until(wa, "call.withdrawn")["data"] == {"linkedid": lid, "reason": "caller_left", "site": "main"}
            synced(web)
            assert sven.get("/healthz").status_code == 200
            assert services(web).bus_link.link.outages == 1 and services(web).pbx.registry.calls() == []
            assert anna.send("POST", "/api/agent/unpause").status_code == 200
