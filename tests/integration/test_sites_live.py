"""Two real Asterisk sites trunked on loopback: overflow in the dialplan, origin over AMI.

Site `a` has its agents logged in but none ready (paused), so a caller
into a's 5555 goes over the PJSIP trunk to site `b`, whose agent answers; b's AMI
shows the call with `ChanVariable: HOTLINE_ORIGIN=a:<a's Linkedid>`, and the cti
translation and registry carry that origin. With an agent ready at a, the call stays
at a. With both sites' bridges writing into one database, the two legs are one call
record and one ticket (tickets.call_join). The two Asterisks are shared by the module's
tests; every wait is on an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cti import events as ev
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.calls import CallRegistry
from cti.protocol import AmiMessage, AmiParser
from cti.queue_log import LoggedCall
from cti.translate import translate
from hotline_cli.phones import free_udp_port
from hotline_cli.site_config import SitePeer
from tests.db_fixture import db_sessions
from tests.factories import add_contact, capture_events
from tests.pbx_fixture import Event, Pbx, running_pbx
from tickets.calls_service import TicketService
from tickets.desk import TicketDesk
from tickets.events import TicketCreated
from tickets.models import Callback, CallRecord, Priority, Ticket
from tickets.reconcile import Reconciler
from tickets.recorder import CallRecorder
from tickets.report_data import load_calls
from tickets.sla import SlaPolicy
from tickets.writer import DbWriter

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
    """Wait until `agent` is ready in the queue (registered, not in use, not paused, not in
    wrap-up), as QUEUE_MEMBER(hotline,ready) counts it: a re-registered phone whose device
    state did not change sends no QueueMemberStatus, so `queue show` is asked until it says
    so. It lists a member in wrap-up as "Not in use" too; [from-site] would refuse the
    trunk call then (a phone of the last test left and came back within the 1 s)."""
    deadline = time.monotonic() + timeout
    while not _member_ready(out := pbx.cli("queue show hotline"), agent, pbx.asterisk.config.wrapup_time):
        assert time.monotonic() < deadline, out
        time.sleep(0.1)


def _member_ready(queue_show: str, agent: str, wrapup: int) -> bool:
    line = next((line for line in queue_show.splitlines() if f"(PJSIP/{agent})" in line), "")
    if "(Not in use)" not in line or "paused" in line.lower():
        return False
    # app_queue: in wrap-up while now - wrapuptime < lastcall (whole seconds), i.e. "last was N" < wrapuptime
    last = re.search(r"last was (\d+) secs? ago", line)
    return last is None or int(last[1]) >= wrapup


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


class SiteBridge:
    """One site's bridge instance as `hotline serve` composes it for calls: the AMI bridge,
    the recorder and the database writer running TicketService at that site, on the
    database every site shares."""

    def __init__(self, pbx: Pbx, site: str, db: sessionmaker[Session]) -> None:
        self.bus = EventBus()
        self.updates = capture_events(self.bus, ev.CallUpdated)
        self.created = capture_events(self.bus, TicketCreated)
        self.bridge = AmiBridge(host="127.0.0.1", port=pbx.ami_port, username=pbx.ami_username,
                                secret=pbx.ami_secret, bus=self.bus, registry=CallRegistry(), ping_interval=2.0)
        self.writer = DbWriter(TicketService(db, site=site).handle, on_result=self.bus.publish)
        CallRecorder(self.writer).subscribe(self.bus)

    async def start(self) -> None:
        self.writer.start()
        self.bridge.start()
        await _until(lambda: self.bridge.resyncs >= 1)

    def update(self, linkedid: str, change: ev.CallChange) -> ev.CallUpdated | None:
        return next((u for u in self.updates if u.call.linkedid == linkedid and u.change == change), None)

    async def close(self) -> None:
        await self.bridge.close()
        await self.writer.drain()
        await self.writer.close()


async def _overflowed_to_b(sites: Sites, number: str, name: str, duration: int,
                           marks: tuple[int, int]) -> tuple[str, str]:
    """Once b's agent is ready: a call into a that a sends on to b (nobody ready at a);
    its Linkedid at a and at b (where it joined the queue with a's origin)."""
    a, b = sites.a, sites.b
    await asyncio.to_thread(_ready, b, "1001")
    a.place_call(number, name=name, duration=duration)
    taken = await asyncio.to_thread(a.tap.wait_for, lambda e: e.get("UserEvent") == "HotlineOverflow", 40, marks[0])
    la = taken["Linkedid"]
    join_b = await asyncio.to_thread(
        b.tap.wait_for, lambda e: e.get("Event") == "QueueCallerJoin"
        and e.get("ChanVariable") == f"HOTLINE_ORIGIN=a:{la}", 30, marks[1])
    return la, join_b["Linkedid"]


async def _until(pred: Callable[[], object], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("waited_at_a", [False, True], ids=["no-agent-ready-at-a", "waited-at-a"])
async def test_an_overflowed_call_is_one_call_record_and_one_ticket(
        sites: Sites, module_database_url: str, waited_at_a: bool) -> None:
    """Both sites' bridges write into one database. Site a's agents are all on a break
    (or the one ready there does not answer for 4 s): the caller is answered at b. The
    database holds one ticket (b's) and one call, b's record, with entry site a and the
    wait across both sites; a's leg is `overflowed`, no abandon and no callback; b's pop
    names the customer; the report counts the call at a, answered, and no abandon."""
    a, b = sites.a, sites.b
    number = f"+49341253{secrets.randbelow(10**5):05d}"
    with db_sessions(module_database_url) as db:
        contact = add_contact(db, "Ada Lovelace", number)
        site_a, site_b = SiteBridge(a, "a", db), SiteBridge(b, "b", db)
        await site_a.start()
        await site_b.start()
        mark_a, mark_b = a.tap.mark(), b.tap.mark()
        try:
            with contextlib.ExitStack() as stack:
                stack.enter_context(b.phone("1001"))
                if waited_at_a:  # 1002 rings at a and does not answer: after 4 s the caller goes on to b
                    stack.enter_context(a.phone("1002", answer_after=60))
                    stack.enter_context(_paused(a, "1001"))
                    await asyncio.to_thread(_ready, a, "1002")
                else:
                    stack.enter_context(_paused(a, "1001", "1002"))
                la, lb = await _overflowed_to_b(sites, number, "Ada Lovelace", 15, (mark_a, mark_b))
                connect = await asyncio.to_thread(_answered_at, b, lb)
                await _until(lambda: site_a.update(la, ev.CallChange.ENDED) and site_b.update(lb, ev.CallChange.ENDED),
                             timeout=60)
        finally:
            await site_a.close()
            await site_b.close()
        ringing = site_b.update(lb, ev.CallChange.RINGING)
        assert ringing is not None and ringing.call.caller_number == number  # b's pop: the caller, as usual
        assert ringing.call.origin == ("a", la)
        assert [(c.site, c.linkedid, c.contact_id) for c in site_b.created] == [("b", lb, contact)]
        assert site_a.created == []
        with db() as s:
            records = {r.site: r for r in s.scalars(select(CallRecord).where(CallRecord.linkedid.in_([la, lb])))}
            tickets = s.scalars(select(Ticket).where(Ticket.linkedid.in_([la, lb]))).all()
            callbacks = s.scalars(select(Callback).where(Callback.caller_number == number)).all()
            facts = [f for f in load_calls(s, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
                     if f.linkedid in (la, lb)]
        entry, call = records["a"], records["b"]
        assert [(t.site, t.linkedid, t.contact_id) for t in tickets] == [("b", lb, contact)]  # ONE ticket
        assert (call.outcome, call.agent, call.ticket_id, call.contact_id) == (
            "answered", "PJSIP/1001", tickets[0].id, contact)
        assert (call.entry_site, call.entry_linkedid) == ("a", la)  # entry site a, answering site b
        assert (entry.outcome, entry.overflow_site, entry.overflow_linkedid) == ("overflowed", "b", lb)
        assert (entry.ticket_id, entry.callback_id, callbacks) == (None, None, [])  # no abandon, no callback
        time_at_a = entry.wait_seconds
        assert time_at_a is not None and call.entry_wait_seconds == time_at_a
        assert time_at_a >= (3.0 if waited_at_a else 0.0)  # HOTLINE_OVERFLOW_AFTER is 4 s here
        assert call.wait_seconds == pytest.approx(time_at_a + int(connect["HoldTime"]), abs=1.0)  # the total
        assert call.wait_seconds is not None and call.wait_seconds >= time_at_a
        # the report: one call, offered at a, answered after the total wait, no abandon
        assert [(f.linkedid, f.site, f.outcome, f.answered) for f in facts] == [(lb, "a", "answered", True)]
        desk = TicketDesk(db, SlaPolicy({Priority.NORMAL: 24}))  # GET /api/calls/b:<lb> and a:<la>
        shown_b, shown_a = desk.call(lb, "b"), desk.call(la, "a")
        assert shown_b is not None and (shown_b["entry_site"], shown_b["entry_linkedid"]) == ("a", la)
        assert shown_a is not None and (shown_a["overflow_site"], shown_a["overflow_linkedid"]) == ("b", lb)


async def test_a_call_b_took_while_bs_bridge_was_down_is_joined_from_bs_queue_log(
        sites: Sites, module_database_url: str) -> None:
    """Only a's bridge runs: b's leg is written later from b's queue_log, as b's bridge
    does when it comes back. Its ENTERQUEUE line carries the origin (the dialplan passes
    it as Queue()'s URL argument), so the two legs are still one call: b's record names
    a's leg and the wait across both sites, a's leg names b's, one ticket (b's)."""
    a, b = sites.a, sites.b
    number = f"+49341253{secrets.randbelow(10**5):05d}"
    with db_sessions(module_database_url) as db:
        contact = add_contact(db, "Grace Hopper", number)
        site_a = SiteBridge(a, "a", db)
        await site_a.start()
        mark_a, mark_b = a.tap.mark(), b.tap.mark()
        try:
            with b.phone("1001"), _paused(a, "1001", "1002"):
                la, lb = await _overflowed_to_b(sites, number, "Grace Hopper", 6, (mark_a, mark_b))
                await asyncio.to_thread(_answered_at, b, lb)
                await asyncio.to_thread(
                    b.tap.wait_for, lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == lb, 40, mark_b)
                await _until(lambda: site_a.update(la, ev.CallChange.ENDED), timeout=40)
        finally:
            await site_a.close()
        # b's bridge is back: its catching up reads b's queue_log (only this call's lines count here)
        reconciler = Reconciler(db, b.asterisk.queue_log, 1.0, "DE", site="b")
        found: list[LoggedCall] = []
        members = {"agent1001": "PJSIP/1001"}  # queue_log's member name, as b's bridge learns it from QueueStatus
        await _until(lambda: found.extend(c for c in reconciler.missing(datetime.now(UTC), members)
                                          if c.linkedid == lb) or found, timeout=20)
        assert [c.origin for c in found] == [("a", la)]
        service = TicketService(db, site="b")
        for update in reconciler.updates(found[0]):
            service.handle(update)
        with db() as s:
            records = {r.site: r for r in s.scalars(select(CallRecord).where(CallRecord.linkedid.in_([la, lb])))}
            tickets = s.scalars(select(Ticket).where(Ticket.linkedid.in_([la, lb]))).all()
        entry, call = records["a"], records["b"]
        assert [(t.site, t.linkedid, t.contact_id) for t in tickets] == [("b", lb, contact)]
        assert (call.outcome, call.agent, call.entry_site, call.entry_linkedid) == ("answered", "PJSIP/1001", "a", la)
        assert (entry.outcome, entry.overflow_site, entry.overflow_linkedid) == ("overflowed", "b", lb)
        assert entry.wait_seconds is not None and call.wait_seconds is not None
        assert call.entry_wait_seconds == entry.wait_seconds and call.wait_seconds >= entry.wait_seconds
