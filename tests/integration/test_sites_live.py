"""Two real Asterisk sites trunked on loopback: overflow in the dialplan, origin over AMI.

Site `a` has its agents logged in but none ready (paused), so a caller
into a's 5555 goes over the PJSIP trunk to site `b`, whose agent answers; b's AMI
shows the call with `ChanVariable: HOTLINE_ORIGIN=a:<a's Linkedid>`, and the cti
translation and registry carry that origin. With an agent ready at a, the call stays
at a. The two Asterisks are shared by the module's tests; every wait is on an event.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from cti import events as ev
from cti.calls import CallRegistry
from cti.protocol import AmiMessage, AmiParser
from cti.translate import translate
from hotline_cli.phones import free_udp_port
from hotline_cli.site_config import SitePeer
from tests.pbx_fixture import Event, Pbx, running_pbx

pytestmark = pytest.mark.asterisk


@dataclass
class Sites:
    a: Pbx
    b: Pbx


@pytest.fixture(scope="module")
def sites() -> Iterator[Sites]:
    sip_a, sip_b, secret = free_udp_port(), free_udp_port(), secrets.token_urlsafe(12)
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(
            running_pbx(
                f"site-a-{os.getpid()}",
                site="a",
                sip_port=sip_a,
                members=("1001", "1002"),
                peers=(SitePeer("b", sip_b, secret),),
                overflow_after=4,  # seconds in a's queue before b is tried again
            )
        )
        b = stack.enter_context(
            running_pbx(
                f"site-b-{os.getpid()}",
                site="b",
                sip_port=sip_b,
                members=("1001",),
                peers=(SitePeer("a", sip_a, secret),),
            )
        )
        try:
            yield Sites(a, b)
        finally:
            a.end_calls()
            b.end_calls()


def _cti_events(pbx: Pbx) -> list[ev.DomainEvent]:
    """Everything this site's AMI said so far, through the product's parser and translation."""
    at = datetime.now(UTC)
    parsed = AmiParser().feed(bytes(pbx.tap.raw))
    return [e for m in parsed if isinstance(m, AmiMessage) for e in translate(m, at)]


def _ready(pbx: Pbx, agent: str, timeout: float = 20.0) -> None:
    """Wait until `agent` is ready in the queue (registered, not in use, not paused), as
    QUEUE_MEMBER(hotline,ready) counts it: a re-registered phone whose device state did
    not change sends no QueueMemberStatus, so `queue show` is asked until it says so."""
    deadline = time.monotonic() + timeout
    while not re.search(rf"\(PJSIP/{agent}\).*\(Not in use\)", out := pbx.cli("queue show hotline")) or (
        re.search(rf"\(PJSIP/{agent}\).*paused", out, re.IGNORECASE)
    ):
        assert time.monotonic() < deadline, out
        time.sleep(0.1)


@contextlib.contextmanager
def _paused(pbx: Pbx, *agents: str) -> Iterator[None]:
    """Agents logged in but not available (what a site whose agents are all on a break looks like)."""
    for agent in agents:
        assert "paused" in pbx.cli(f"queue pause member PJSIP/{agent} queue hotline reason break").lower()
    try:
        yield
    finally:
        for agent in agents:
            pbx.cli(f"queue unpause member PJSIP/{agent} queue hotline")


def _answered_at(pbx: Pbx, linkedid: str) -> Event:
    return pbx.tap.wait_for(lambda e: e.get("Event") == "AgentConnect" and e.get("Linkedid") == linkedid, timeout=30)


def test_no_agent_ready_at_a_is_answered_at_b_with_its_origin(sites: Sites) -> None:
    a, b = sites.a, sites.b
    mark_a, mark_b = a.tap.mark(), b.tap.mark()
    with b.phone("1001"), _paused(a, "1001", "1002"):
        _ready(b, "1001")
        a.place_call("+4934125380001", name="Overflow Test", duration=12)
        taken = a.tap.wait_for(
            lambda e: e.get("Event") == "UserEvent" and e.get("UserEvent") == "HotlineOverflow",
            timeout=30,
            since=mark_a,
        )
        linkedid_a = taken["Linkedid"]
        assert taken["Site"] == "b"
        join = b.tap.wait_for(lambda e: e.get("Event") == "QueueCallerJoin", timeout=30, since=mark_b)
        assert join["ChanVariable"] == f"HOTLINE_ORIGIN=a:{linkedid_a}"
        assert join["CallerIDNum"] == "+4934125380001"  # the caller's number crossed the trunk (PAI)
        linkedid_b = join["Linkedid"]
        connect = _answered_at(b, linkedid_b)
        assert connect["Interface"] == "PJSIP/1001"
        assert connect["ChanVariable"] == f"HOTLINE_ORIGIN=a:{linkedid_a}"
        assert connect["DestChanVariable"] == f"HOTLINE_ORIGIN=a:{linkedid_a}"  # the agent's leg inherits it
    b.tap.wait_for(lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == linkedid_b, since=mark_b)
    # a never queued the caller: no agent there was ready
    assert not [e for e in a.tap.of(linkedid_a, "QueueCallerJoin")]
    overflowed = [e for e in _cti_events(a) if isinstance(e, ev.CallOverflowed) and e.linkedid == linkedid_a]
    assert [e.site for e in overflowed] == ["b"]  # a's bridge is told where the call went
    joined = [e for e in _cti_events(b) if isinstance(e, ev.CallerJoinedQueue) and e.linkedid == linkedid_b]
    assert [e.origin for e in joined] == [("a", linkedid_a)]
    registry = CallRegistry()  # the pure reducer keeps the origin on the call, to its end
    updates = [u for e in _cti_events(b) for u in registry.apply(e, datetime.now(UTC))]
    calls = {u.change: u.call for u in updates if isinstance(u, ev.CallUpdated) and u.call.linkedid == linkedid_b}
    assert {change: call.origin for change, call in calls.items()} == {
        change: ("a", linkedid_a)
        for change in (ev.CallChange.JOINED, ev.CallChange.RINGING, ev.CallChange.ANSWERED, ev.CallChange.ENDED)
    }
    assert calls[ev.CallChange.ANSWERED].agent == "PJSIP/1001"


def test_agent_ready_at_a_keeps_the_call_at_a(sites: Sites) -> None:
    a, b = sites.a, sites.b
    mark_a, mark_b = a.tap.mark(), b.tap.mark()
    with a.phone("1002"):
        _ready(a, "1002")
        a.place_call("+4934125380002", name="Stays Here", duration=12)
        join = a.tap.wait_for(lambda e: e.get("Event") == "QueueCallerJoin", timeout=30, since=mark_a)
        linkedid = join["Linkedid"]
        assert join["ChanVariable"] == "HOTLINE_ORIGIN="  # not from another site
        assert _answered_at(a, linkedid)["Interface"] == "PJSIP/1002"
    assert not a.tap.of(linkedid, "UserEvent")  # no HotlineOverflow for it
    assert not [e for e in b.tap.events[mark_b:] if e.get("Event") in ("Newchannel", "QueueCallerJoin")]


def test_a_caller_waiting_too_long_at_a_leaves_for_b(sites: Sites) -> None:
    """An agent is ready at a but does not answer: after HOTLINE_OVERFLOW_AFTER (4 s here)
    the caller leaves a's queue for b, within the 25-second promise."""
    a, b = sites.a, sites.b
    mark_a, mark_b = a.tap.mark(), b.tap.mark()
    with a.phone("1002", answer_after=60), b.phone("1001"), _paused(a, "1001"):
        _ready(a, "1002")
        _ready(b, "1001")
        a.place_call("+4934125380003", name="Late Overflow", duration=12)
        join_a = a.tap.wait_for(lambda e: e.get("Event") == "QueueCallerJoin", timeout=30, since=mark_a)
        linkedid_a = join_a["Linkedid"]
        taken = a.tap.wait_for(
            lambda e: e.get("UserEvent") == "HotlineOverflow" and e.get("Linkedid") == linkedid_a, timeout=30
        )
        assert taken["Site"] == "b"
        join_b = b.tap.wait_for(lambda e: e.get("Event") == "QueueCallerJoin", timeout=30, since=mark_b)
        assert join_b["ChanVariable"] == f"HOTLINE_ORIGIN=a:{linkedid_a}"
        assert _answered_at(b, join_b["Linkedid"])["Interface"] == "PJSIP/1001"
    assert a.tap.of(linkedid_a, "AgentCalled")  # it did ring at a first
    assert not [e for e in a.tap.of(linkedid_a, "UserEvent") if e.get("UserEvent") == "HotlineQueueExit"]


@pytest.mark.parametrize(
    ("header", "origin"),
    [
        ("z:1764583199.5", ("z", "1764583199.5")),  # well-formed: kept (the control)
        ('EVIL:1.2"$[1]', None),  # upper case, quote, an expression
        ("a" * 70 + ":1.2", None),  # longer than 64
    ],
)
def test_only_a_well_formed_header_becomes_the_origin(
    sites: Sites, header: str, origin: tuple[str, str] | None
) -> None:
    """A call over the trunk whose X-Hotline-Call is not `<site>:<linkedid>` is taken as an
    ordinary call: no origin on b's events, none in the cti events."""
    a, b = sites.a, sites.b
    mark_b = b.tap.mark()
    with b.phone("1001"):
        _ready(b, "1001")
        # a's AMI dials b's 5555 over the trunk with a header of the test's choosing
        a.tap.action(
            "Originate",
            Channel="PJSIP/5555@site-b",
            Application="Wait",
            Data="8",
            Async="true",
            Variable=f"PJSIP_HEADER(add,X-Hotline-Call)={header}",
        )
        join = b.tap.wait_for(lambda e: e.get("Event") == "QueueCallerJoin", timeout=30, since=mark_b)
        assert join["ChanVariable"] == "HOTLINE_ORIGIN=" + (f"{origin[0]}:{origin[1]}" if origin else "")
        _answered_at(b, join["Linkedid"])
    joined = [e for e in _cti_events(b) if isinstance(e, ev.CallerJoinedQueue) and e.linkedid == join["Linkedid"]]
    assert [e.origin for e in joined] == [origin]
