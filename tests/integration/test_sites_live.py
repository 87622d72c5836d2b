"""Two real Asterisk sites trunked on loopback: overflow in the dialplan, origin over AMI.

Site `a` has its agents logged in but none ready (no phone registered), so a caller
into a's 5555 goes over the PJSIP trunk to site `b`, whose agent answers; b's AMI
shows the call with `ChanVariable: HOTLINE_ORIGIN=a:<a's Linkedid>`, and the cti
translation and registry carry that origin. With an agent ready at a, the call stays
at a. The two Asterisks are shared by the module's tests; every wait is on an event.
"""

from __future__ import annotations

import contextlib
import os
import secrets
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


def _answered_at(pbx: Pbx, linkedid: str) -> Event:
    return pbx.tap.wait_for(lambda e: e.get("Event") == "AgentConnect" and e.get("Linkedid") == linkedid, timeout=30)


def test_no_agent_ready_at_a_is_answered_at_b_with_its_origin(sites: Sites) -> None:
    a, b = sites.a, sites.b
    mark_a, mark_b = a.tap.mark(), b.tap.mark()
    with b.phone("1001"):
        b.tap.wait_for(
            lambda e: (
                e.get("Event") == "QueueMemberStatus" and e.get("Status") == "1" and e.get("Interface") == "PJSIP/1001"
            ),
            since=mark_b,
        )
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
        a.tap.wait_for(
            lambda e: (
                e.get("Event") == "QueueMemberStatus" and e.get("Status") == "1" and e.get("Interface") == "PJSIP/1002"
            ),
            since=mark_a,
        )
        a.place_call("+4934125380002", name="Stays Here", duration=12)
        join = a.tap.wait_for(lambda e: e.get("Event") == "QueueCallerJoin", timeout=30, since=mark_a)
        linkedid = join["Linkedid"]
        assert join["ChanVariable"] == "HOTLINE_ORIGIN="  # not from another site
        assert _answered_at(a, linkedid)["Interface"] == "PJSIP/1002"
    assert not a.tap.of(linkedid, "UserEvent")  # no HotlineOverflow for it
    assert not [e for e in b.tap.events[mark_b:] if e.get("Event") in ("Newchannel", "QueueCallerJoin")]
