"""The real bridge against the real Asterisk: its view of every call matches
Asterisk's own figures, also across a cut AMI connection."""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest
from callqueue.feed import QueueFeed
from callqueue.live import QueueProjection
from sqlalchemy import func, select

from agent_console.jobs import Jobs
from cti import events as ev
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.calls import CallRegistry
from cti.queue_log import finished_calls
from tests.factories import capture_events
from tests.pbx_fixture import Pbx
from tests.tcp_proxy import TcpProxy
from tickets.calls_service import TicketService
from tickets.db import make_engine, session_factory
from tickets.models import CallRecord, Ticket
from tickets.reconcile import Reconciler
from tickets.recorder import CallRecorder
from tickets.writer import DbWriter

pytestmark = pytest.mark.asterisk


async def wait_until(pred, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


class Follower:
    def __init__(self, pbx: Pbx, port: int) -> None:
        self.bus, self.ended = EventBus(), {}
        self.bus.subscribe(ev.CallUpdated, self._on_call)
        self.events = capture_events(self.bus)
        self.bridge = AmiBridge(host="127.0.0.1", port=port, username=pbx.ami_username,
                                secret=pbx.ami_secret, bus=self.bus, registry=CallRegistry(),
                                ping_interval=2.0)
        self.bridge.client.backoff_max = 0.2
        self.ended_count: dict[str, int] = {}

    async def start(self) -> None:
        """The bridge started and through its first resync."""
        self.bridge.start()
        await wait_until(lambda: self.bridge.resyncs >= 1)

    def _on_call(self, update: ev.CallUpdated) -> None:
        if update.change == "ended":
            self.ended[update.call.linkedid] = update.call
            self.ended_count[update.call.linkedid] = self.ended_count.get(update.call.linkedid, 0) + 1

    def joined(self, number: str) -> str | None:
        for e in self.events:
            if isinstance(e, ev.CallerJoinedQueue) and e.caller_raw == number:
                return e.linkedid
        return None


async def _wait_call(pbx: Pbx, f: Follower, number: str) -> str:
    await wait_until(lambda: f.joined(number) is not None)
    linkedid = f.joined(number)
    assert linkedid
    return linkedid


async def assert_matches_asterisk(pbx: Pbx, f: Follower, linkedid: str) -> ev.CallSnapshot:
    """The bridge's final view equals Asterisk's AgentComplete figures (within 1 s).

    The tap is a connection of its own: its AgentComplete may arrive after the bridge
    has already ended the call, so it is waited for, not expected at once."""
    view = f.ended[linkedid]
    assert view.outcome == "answered", f"not answered in time: {view}"
    await wait_until(lambda: bool(pbx.tap.of(linkedid, "AgentComplete")), timeout=15)
    done = pbx.tap.of(linkedid, "AgentComplete")
    real = done[0]
    assert view.agent == "PJSIP/1001"
    assert abs(view.wait_seconds - int(real["HoldTime"])) <= 1  # type: ignore[operator]
    assert abs(view.talk_seconds - int(real["TalkTime"])) <= 1  # type: ignore[operator]
    assert f.ended_count[linkedid] == 1
    return view


async def test_bridge_view_matches_asterisk_for_a_real_call(pbx: Pbx) -> None:
    f = Follower(pbx, pbx.ami_port)
    await f.start()
    with pbx.phone("1001", answer_after=1.0):
        # the caller stays 8 s after the PBX answers: time enough on a loaded machine
        # for the queue to ring the phone and the phone to answer 1 s later
        call = pbx.place_call("+49 341 2538-5555", name="Erika Muster", duration=8)
        linkedid = await _wait_call(pbx, f, "+49 341 2538-5555")
        await wait_until(lambda: linkedid in f.ended)
        assert isinstance(call, subprocess.Popen)
        call.wait(timeout=30)
    await f.bridge.close()
    view = await assert_matches_asterisk(pbx, f, linkedid)
    assert view.caller_number == "+4934125385555" and view.caller_name == "Erika Muster"
    # the call's Newchannel, Newstate, DialBegin... were not read into fields (cti.protocol `wanted`),
    # and the view above still matches Asterisk's
    assert f.bridge.client.stats.skipped_frames > 0


async def test_cut_ami_connection_mid_call_loses_no_call(pbx: Pbx) -> None:
    proxy = await TcpProxy(pbx.ami_port).start()
    f = Follower(pbx, proxy.port)
    await f.start()
    with pbx.phone("1001", answer_after=6.0):
        kept = pbx.place_call("+49 30 1111111", name="Bleibt", duration=10)
        linkedid = await _wait_call(pbx, f, "+49 30 1111111")
        proxy.cut(block=True)  # the bridge is blind from here on
        lost = pbx.place_call("+49 30 2222222", name="Weg", duration=2)
        assert isinstance(lost, subprocess.Popen)
        lost.wait(timeout=20)  # this caller came and went while we were not connected
        proxy.blocked = False
        await wait_until(lambda: f.bridge.resyncs >= 2)
        assert linkedid in {c.linkedid for c in f.bridge.registry.calls()} or linkedid in f.ended
        await wait_until(lambda: linkedid in f.ended, timeout=40)
        assert isinstance(kept, subprocess.Popen)
        kept.wait(timeout=30)
    await f.bridge.close()
    await proxy.stop()
    await assert_matches_asterisk(pbx, f, linkedid)
    assert any(isinstance(e, ev.PbxDisconnected) for e in f.events)


async def test_pause_with_reason_and_unpause_through_the_bridge(pbx: Pbx) -> None:
    from cti import actions

    f = Follower(pbx, pbx.ami_port)
    await f.start()
    states: list[tuple[str, str]] = []
    f.bus.subscribe(ev.AgentUpdated, lambda u: states.append((u.agent.state, u.agent.pause_reason))
                    if u.agent.agent == "PJSIP/1002" else None)
    pause = actions.queue_pause("PJSIP/1002", "hotline", "Mittagspause")
    await f.bridge.send(pause.name, pause.fields)
    await wait_until(lambda: ("paused", "Mittagspause") in states, timeout=10)
    unpause = actions.queue_unpause("PJSIP/1002", "hotline")
    await f.bridge.send(unpause.name, unpause.fields)
    await wait_until(lambda: states and states[-1][0] != "paused", timeout=10)
    assert "PJSIP/1002" in pbx.cli("queue show hotline")
    await f.bridge.close()


async def test_asterisk_restart_mid_call_ends_the_call_once_and_the_bridge_follows_on() -> None:
    """Its own Asterisk (the shared one must not restart under other tests): a call is
    answered, Asterisk is stopped and started again, and the bridge notices the restart
    (FullyBooted Uptime), ends the lost call exactly once (from the shutdown's Hangup or
    at resync, whichever comes first), and follows the
    next call on the new Asterisk."""
    from tests.pbx_fixture import AmiTap, start_pbx

    asterisk = start_pbx(f"restart-{os.getpid()}")
    tap = AmiTap(asterisk.config.ami_port, asterisk.config.ami_secret)
    own = Pbx(asterisk, tap)
    f = Follower(own, own.ami_port)
    f.bridge.start()
    try:
        await wait_until(lambda: f.bridge.resyncs >= 1)
        with own.phone("1001", answer_after=1.0):
            call = own.place_call("+49 341 9999999", name="Vor Neustart", duration=60)
            linkedid = await _wait_call(own, f, "+49 341 9999999")
            await wait_until(lambda: (c := f.bridge.registry.call(linkedid)) is not None
                             and c.answered_at is not None, timeout=20)
            await asyncio.to_thread(asterisk.stop)
            await asyncio.to_thread(asterisk.start)
            # Asterisk hangs the call up while it shuts down, so the call may end (from
            # its Hangup) before the bridge is back in and has seen FullyBooted's Uptime
            await wait_until(lambda: linkedid in f.ended and any(
                isinstance(e, ev.PbxConnected) and e.restarted for e in f.events), timeout=40)
            assert f.bridge.registry.calls() == [] or all(c.linkedid != linkedid
                                                          for c in f.bridge.registry.calls())
            lost = f.ended[linkedid]
            assert lost.outcome == "answered" and lost.agent == "PJSIP/1001" and f.ended_count[linkedid] == 1
            assert isinstance(call, subprocess.Popen)
            call.kill()
            after = own.place_call("+49 341 8888888", name="Nach Neustart", duration=1)
            second = await _wait_call(own, f, "+49 341 8888888")
            await wait_until(lambda: second in f.ended, timeout=40)
            assert isinstance(after, subprocess.Popen)
            after.wait(timeout=30)
        assert f.ended_count[second] == 1 and f.ended_count[linkedid] == 1
    finally:
        await f.bridge.close()
        own.end_calls()
        tap.close()
        asterisk.stop()


async def test_a_call_that_comes_and_goes_during_an_ami_cut_gets_its_record_and_ticket_once(
        pbx: Pbx, module_database_url: str) -> None:
    """AMI has no replay: a call that starts and ends while the link is cut exists only
    in queue_log. After the reconnect (not only at start-up) the bridge instance's
    jobs read what queue_log gained and write that call's record and ticket, once."""
    proxy = await TcpProxy(pbx.ami_port).start()
    f = Follower(pbx, proxy.port)
    db = session_factory(make_engine(module_database_url))
    writer = DbWriter(TicketService(db).handle, on_result=f.bus.publish)
    feed = QueueFeed(QueueProjection(), f.bridge.clock, "Europe/Berlin", "hotline")
    jobs = Jobs(f.bus, db, writer, feed, f.bridge.clock, f.bridge,
                Reconciler(db, pbx.asterisk.queue_log, 24, "DE"), retention_days=0)
    for consumer in (feed, jobs, CallRecorder(writer)):
        consumer.subscribe(f.bus)
    writer.start()
    f.bridge.start()
    jobs.start()
    await wait_until(lambda: jobs.runs >= 1)  # the start-up run (after the first resync)
    with pbx.phone("1001", answer_after=1.0):
        await wait_until(lambda: any(a.agent == "PJSIP/1001" and a.state == ev.AgentState.AVAILABLE
                                     for a in f.bridge.registry.agent_list()))
        proxy.cut(block=True)
        lost = pbx.place_call("+49 30 3333333", name="Im Funkloch", duration=6)
        assert isinstance(lost, subprocess.Popen)
        lost.wait(timeout=30)  # answered and hung up while the bridge was blind
        proxy.blocked = False
        await wait_until(lambda: jobs.runs >= 2, timeout=40)
    await writer.drain()
    linkedid = next(c.linkedid for c in finished_calls(pbx.asterisk.queue_log.read_text().splitlines())
                    if c.caller_raw == "+49 30 3333333")
    assert linkedid not in f.ended  # the bridge itself never saw it
    await jobs.reconcile()  # another run finds nothing more to do
    await writer.drain()
    with db() as s:
        record = s.scalars(select(CallRecord).where(CallRecord.linkedid == linkedid)).one()
        tickets = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.linkedid == linkedid))
    assert record.outcome == "answered" and record.agent == "PJSIP/1001" and record.ticket_id is not None
    assert tickets == 1
    await jobs.close()
    await f.bridge.close()
    await writer.close()
    await proxy.stop()
