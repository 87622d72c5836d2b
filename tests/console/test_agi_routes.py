"""The FastAGI `route` script on a real database: variables out, the route noted for
the registry; a failing lookup still answers (the plain queue); a taken port is logged,
not fatal."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime

import pytest

from agent_console.agi_routes import GONE, AgiService, Every, RouteScript, members_generalists
from cti import events as ev
from cti.agi import AgiRequest
from cti.calls import CallRegistry
from tests.db_fixture import db_sessions
from tickets.lookup import CustomerLookup
from tickets.models import Contact, Organisation, Phone, PhoneKind
from tickets.routing import PRIORITY_BUMP

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _request(caller: str) -> AgiRequest:
    return AgiRequest.from_env({"agi_network_script": "route", "agi_callerid": caller,
                                "agi_uniqueid": "9.1", "agi_arg_1": "9.0"})


async def test_route_answers_and_notes_the_route(database_url: str) -> None:
    with db_sessions(database_url) as sessions:
        with sessions.begin() as s:
            org = Organisation(name="Nordwerke AGI", team="Werke", language="en", vip=True)
            s.add(org)
            s.flush()
            s.add(Phone(raw="0341 7200-0", normalized="+4934172000", kind=PhoneKind.MAIN, organisation_id=org.id))
            s.add(Contact(name="nobody", organisation_id=org.id))
        noted: list[ev.DomainEvent] = []

        async def publish(event: ev.DomainEvent) -> None:
            noted.append(event)

        script = RouteScript(CustomerLookup(sessions), "Kommunen,Werke", "hotline", lambda: NOW,
                             lambda _now: True, publish)
        try:
            variables = dict(await script.handle(_request("0341 7200-0")))
            assert variables["HOTLINE_TEAM"] == "Werke" and variables["HOTLINE_LANGUAGE"] == "en"
            assert (variables["HOTLINE_MIN_PENALTY"], variables["HOTLINE_MAX_PENALTY"]) == ("22", "23")
            # a VIP organisation: moved up in the queue, and the pop and the record say why
            assert noted == [ev.CallRouted(NOW, "9.0", ev.CallRoute("team", "Werke", "en", PRIORITY_BUMP, "vip"))]
            unknown = dict(await script.handle(_request("")))
            assert unknown["HOTLINE_ROUTE_REASON"] == "withheld" and "HOTLINE_TEAM" not in unknown
            # a stranger who pressed 2 (extensions_ivr.conf passes the choice): the generalists
            # who speak English (band 0), noted for the pop and the call record
            chose = dict(await script.handle(AgiRequest.from_env({
                "agi_network_script": "route", "agi_callerid": "+4935199999", "agi_uniqueid": "9.3",
                "agi_arg_1": "9.2", "agi_arg_2": "en"})))
            assert (chose["HOTLINE_ROUTE_REASON"], chose["HOTLINE_LANGUAGE"], chose["HOTLINE_TEAM"]) == (
                "language", "en", "")
            assert (chose["HOTLINE_MIN_PENALTY"], chose["HOTLINE_MAX_PENALTY"]) == ("2", "3")
            assert chose["HOTLINE_QUEUE_RULE"] == "hotline-overflow" and list(chose)[-1] == "HOTLINE_ROUTED"
            assert noted[-1] == ev.CallRouted(NOW, "9.2", ev.CallRoute("language", "", "en", 0))
        finally:
            script.close()


async def test_a_failing_lookup_answers_the_plain_queue_and_says_so(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with db_sessions(database_url) as sessions:
        noted: list[ev.DomainEvent] = []

        async def publish(event: ev.DomainEvent) -> None:
            noted.append(event)

        script = RouteScript(CustomerLookup(sessions), "", "hotline", lambda: NOW, lambda _now: True, publish)
        try:
            variables = dict(script.fallback(_request("+4934125385555"), "error"))
            assert variables["HOTLINE_ROUTE_REASON"] == "fallback" and variables["HOTLINE_ROUTED"] == "1"
            await asyncio.sleep(0.01)  # the note is a task
            assert [e.route.reason for e in noted if isinstance(e, ev.CallRouted)] == ["fallback"]
            assert "+4934125385555" not in caplog.text  # logs name the Linkedid, not the number
        finally:
            script.close()


async def test_a_taken_port_is_logged_not_fatal(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with db_sessions(database_url) as sessions, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        script = RouteScript(CustomerLookup(sessions), "", "hotline", lambda: NOW, lambda _now: True)
        service = AgiService(script, "127.0.0.1", port, 0.3)
        with caplog.at_level(logging.ERROR):
            await service.start()
        assert "FastAGI cannot listen" in caplog.text
        await service.close()

def test_every_reads_again_only_when_its_value_is_old() -> None:
    reads: list[int] = []
    fresh = Every(lambda: reads.append(1) or len(reads), seconds=3600)
    assert (fresh(), fresh()) == (1, 1) and len(reads) == 1
    stale = Every(lambda: reads.append(1) or len(reads), seconds=-1)
    assert stale() < stale()


def _board(*members: tuple[int, int | None, str]) -> CallRegistry:
    """A registry whose members logged in with (number, penalty) and are then `state`:
    "available", "paused", "on call", "unregistered" or "logged out"."""
    registry = CallRegistry()
    for n, penalty, state in members:
        agent = f"PJSIP/100{n}"
        registry.apply(ev.AgentLoggedIn(NOW, agent, f"a{n}", "hotline", state == "paused", "", penalty), NOW)
        if state in ("on call", "unregistered"):
            registry.apply(ev.AgentDeviceChanged(NOW, agent, f"a{n}", "hotline", in_call=state == "on call",
                                                 available=False, registered=state == "on call", paused=False,
                                                 pause_reason="", wrapup=False, penalty=penalty), NOW)
        elif state == "logged out":
            registry.apply(ev.AgentLoggedOut(NOW, agent, "hotline"), NOW)
    return registry


def test_the_generalists_are_the_members_who_can_take_a_call_now() -> None:
    """Band 0's languages from the penalties Asterisk reported; logged out, phone not
    registered or no penalty told: not counted."""
    assert members_generalists(_board((1, 1, "available"), (2, 3, "on call")).agents) == {"de", "en"}
    assert members_generalists(_board((1, 1, "available"), (2, 3, "logged out")).agents) == {"de"}
    assert members_generalists(_board((1, 1, "paused"), (2, 3, "unregistered")).agents) == {"de"}
    assert members_generalists(_board((1, None, "available"), (2, 0, "available"), (3, 22, "available")).agents) \
        == frozenset()


def test_the_boards_penalties_are_the_snapshots_without_building_them() -> None:
    """What the FastAGI route asks for every call (the penalties of the members who can
    take a call now) equals what the agents' snapshots say, logged-out and unregistered
    members left out."""
    registry = _board((1, 1, "available"), (2, 3, "paused"), (3, None, "available"), (4, 2, "logged out"),
                      (5, 21, "unregistered"), (6, 22, "on call"))
    assert sorted(registry.agents.penalties(GONE)) == [1, 3, 22]
    snapshots = registry.agent_list()
    assert {a.agent: a.state for a in snapshots}["PJSIP/1005"] == ev.AgentState.UNAVAILABLE
    assert sorted(registry.agents.penalties(GONE)) == sorted(
        a.penalty for a in snapshots if a.penalty is not None and a.state not in GONE)
