"""Wrap-up: Asterisk's (the queue's wrapuptime after each queue call) and the
extended one (paused with the wrap-up reason), in the AgentBoard and the bridge."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cti import actions
from cti import events as ev
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.calls import CallRegistry
from cti.testing import FakeAmiServer, frame
from tests.factories import capture_events

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT, Q = "PJSIP/1001", "hotline"
S = ev.AgentState


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def registry_after_call(wrapup: int | None) -> tuple[CallRegistry, list[ev.AgentSnapshot]]:
    """A call answered at 0 s and completed at 10 s with the queue's wrapuptime `wrapup`."""
    reg, seen = CallRegistry(), list[ev.AgentSnapshot]()
    events: list[ev.DomainEvent] = [
        ev.QueueWrapUpTime(at=T0, queue=Q, seconds=wrapup),
        ev.AgentLoggedIn(at=T0, agent=AGENT, member_name="anna", queue=Q, paused=False, pause_reason=""),
        ev.CallerJoinedQueue(at=T0, linkedid="1.1", uniqueid="1.1", channel="PJSIP/trunk-1", queue=Q,
                             caller_raw="+4934125385555", caller_name="Erika", position=1),
        ev.CallAnswered(at=T0, linkedid="1.1", queue=Q, agent=AGENT, member_name="anna",
                        wait_seconds=0, ring_seconds=1),
        ev.CallCompleted(at=at(10), linkedid="1.1", queue=Q, agent=AGENT, wait_seconds=0,
                         talk_seconds=10, completed_by=ev.CompletedBy.CALLER),
    ]
    for e in events:
        seen += [u.agent for u in reg.apply(e, e.at) if isinstance(u, ev.AgentUpdated)]
    return reg, seen


def apply(reg: CallRegistry, e: ev.DomainEvent) -> list[ev.AgentSnapshot]:
    return [u.agent for u in reg.apply(e, e.at) if isinstance(u, ev.AgentUpdated)]


def device_free(t: float, paused: bool = False) -> ev.AgentDeviceChanged:
    return ev.AgentDeviceChanged(at=at(t), agent=AGENT, member_name="anna", queue=Q, in_call=False,
                                 available=True, registered=True, paused=paused, pause_reason="",
                                 wrapup=False)


def test_wrap_up_lasts_the_queues_wrapuptime_then_the_agent_is_available() -> None:
    reg, seen = registry_after_call(wrapup=30)
    assert seen[-1].state == S.WRAP_UP and seen[-1].wrapup_until == at(40)
    assert apply(reg, device_free(11)) == []  # the phone is free, Asterisk still holds the agent
    assert apply(reg, ev.WrapUpDue(at=at(25), agent=AGENT)) == []  # a stale timer changes nothing
    done = apply(reg, ev.WrapUpDue(at=at(40), agent=AGENT))
    assert [a.state for a in done] == [S.AVAILABLE] and done[0].wrapup_until is None


def answered_call(wrapup: int) -> CallRegistry:
    """A call answered at 0 s with the queue's wrapuptime `wrapup`, still talking."""
    reg = CallRegistry()
    for e in (ev.QueueWrapUpTime(at=T0, queue=Q, seconds=wrapup),
              ev.AgentLoggedIn(at=T0, agent=AGENT, member_name="anna", queue=Q, paused=False, pause_reason=""),
              ev.CallerJoinedQueue(at=T0, linkedid="1.1", uniqueid="1.1", channel="PJSIP/trunk-1", queue=Q,
                                   caller_raw="+4934125385555", caller_name="Erika", position=1),
              ev.CallAnswered(at=T0, linkedid="1.1", queue=Q, agent=AGENT, member_name="anna",
                              wait_seconds=0, ring_seconds=1)):
        reg.apply(e, e.at)
    return reg


def completed(t: float, linkedid: str = "1.1") -> ev.CallCompleted:
    return ev.CallCompleted(at=at(t), linkedid=linkedid, queue=Q, agent=AGENT, wait_seconds=0,
                            talk_seconds=10, completed_by=ev.CompletedBy.CALLER)


@pytest.mark.parametrize("device_first", [False, True], ids=["hangup-complete-free", "free-hangup-complete"])
def test_agent_complete_after_the_callers_hangup_still_starts_the_wrap_up(device_first: bool) -> None:
    """AgentComplete and the caller's Hangup come from different Asterisk threads: in a
    full test run the Hangup came first now and then, the call was gone, and the agent
    went from the call straight to available while Asterisk held her in wrap-up."""
    reg = answered_call(wrapup=30)
    ended = ev.CallEnded(at=at(10), linkedid="1.1", cause=16)
    order: list[ev.DomainEvent] = [device_free(10), ended] if device_first else [ended]
    for e in order:
        apply(reg, e)
    assert reg.call("1.1") is None
    got = apply(reg, completed(10.02))
    assert got[-1].state == S.WRAP_UP and got[-1].wrapup_until == at(40.02)
    assert apply(reg, device_free(10.05)) == []  # the phone is free, Asterisk still holds her
    assert apply(reg, completed(10.1)) == []  # the same event again: no second wrap-up
    assert [a.state for a in apply(reg, ev.WrapUpDue(at=at(40.02), agent=AGENT))] == [S.AVAILABLE]
    assert apply(reg, completed(41)) == []  # nor after it ended


def test_a_late_agent_complete_of_an_earlier_call_leaves_the_next_call_alone() -> None:
    reg = answered_call(wrapup=0)
    apply(reg, ev.CallEnded(at=at(10), linkedid="1.1", cause=16))
    apply(reg, device_free(10))
    apply(reg, ev.CallerJoinedQueue(at=at(11), linkedid="2.1", uniqueid="2.1", channel="PJSIP/trunk-2",
                                    queue=Q, caller_raw="+4930123", caller_name="", position=1))
    apply(reg, ev.CallAnswered(at=at(12), linkedid="2.1", queue=Q, agent=AGENT, member_name="anna",
                               wait_seconds=1, ring_seconds=1))
    assert apply(reg, completed(12.5)) == []  # 1.1's, late: she is on 2.1
    on_2 = apply(reg, completed(20, "2.1"))
    assert [(a.state, a.linkedid) for a in on_2] == [(S.AVAILABLE, None)]  # wrapuptime 0


def test_agent_complete_of_a_call_begun_before_the_bridge_connected_starts_the_wrap_up() -> None:
    reg = CallRegistry()
    apply(reg, ev.QueueWrapUpTime(at=T0, queue=Q, seconds=30))
    on_call = ev.MemberSnapshot(at=T0, agent=AGENT, member_name="anna", queue=Q, in_call=True,
                                available=False, registered=True, paused=False, pause_reason="")
    assert [(a.state, a.linkedid) for a in apply(reg, on_call)] == [(S.ON_CALL, None)]  # which call: unknown
    got = apply(reg, completed(5, "0.9"))
    assert got[-1].state == S.WRAP_UP and got[-1].wrapup_until == at(35)


def test_more_time_is_a_pause_that_outlasts_the_wrap_up_and_ready_ends_it() -> None:
    reg, _ = registry_after_call(wrapup=30)
    paused = apply(reg, ev.AgentPaused(at=at(15), agent=AGENT, queue=Q, reason=actions.WRAP_UP_REASON))
    assert paused[-1].state == S.PAUSED and paused[-1].pause_reason == "wrap-up"
    # Asterisk's part runs out: still paused, no wrap-up time left in the snapshot
    over = apply(reg, ev.WrapUpDue(at=at(40), agent=AGENT))
    assert over[-1].state == S.PAUSED and over[-1].wrapup_until is None
    ready = apply(reg, ev.AgentUnpaused(at=at(50), agent=AGENT, queue=Q))
    assert ready[-1].state == S.AVAILABLE


def test_ready_before_asterisks_wrap_up_ends_returns_to_that_wrap_up() -> None:
    reg, _ = registry_after_call(wrapup=30)
    apply(reg, ev.AgentPaused(at=at(12), agent=AGENT, queue=Q, reason=actions.WRAP_UP_REASON))
    back = apply(reg, ev.AgentUnpaused(at=at(20), agent=AGENT, queue=Q))
    assert back[-1].state == S.WRAP_UP and back[-1].wrapup_until == at(40)
    assert apply(reg, ev.WrapUpDue(at=at(40), agent=AGENT))[-1].state == S.AVAILABLE


def test_no_wrapuptime_means_available_at_once_and_unknown_means_no_countdown() -> None:
    _, seen = registry_after_call(wrapup=0)
    assert seen[-1].state == S.AVAILABLE
    reg, seen = registry_after_call(wrapup=None)
    assert seen[-1].state == S.WRAP_UP and seen[-1].wrapup_until is None
    assert apply(reg, ev.WrapUpDue(at=at(99), agent=AGENT)) == []


def test_resync_mid_wrap_up_restores_the_countdown_from_lastcall() -> None:
    reg = CallRegistry()
    apply(reg, ev.QueueWrapUpTime(at=at(12), queue=Q, seconds=30))
    snap = ev.MemberSnapshot(at=at(12), agent=AGENT, member_name="anna", queue=Q, in_call=False,
                             available=True, registered=True, paused=False, pause_reason="",
                             last_call=at(10))
    got = apply(reg, snap)
    assert got[-1].state == S.WRAP_UP and got[-1].wrapup_until == at(40)
    late = CallRegistry()
    apply(late, ev.QueueWrapUpTime(at=at(50), queue=Q, seconds=30))
    assert apply(late, replace(snap, at=at(50)))[-1].state == S.AVAILABLE


def test_wrap_up_pause_action_is_a_queuepause_with_the_reason() -> None:
    a = actions.wrap_up_pause("PJSIP/1001", "hotline")
    assert a.name == "QueuePause" and a.fields == {"Interface": "PJSIP/1001", "Queue": "hotline",
                                                   "Paused": "true", "Reason": "wrap-up"}


async def _bridge(fake: FakeAmiServer) -> tuple[AmiBridge, list[object]]:
    bus = EventBus()
    seen: list[object] = capture_events(bus)
    bridge = AmiBridge(host="127.0.0.1", port=fake.port, username="hotline", secret=fake.secret,
                       bus=bus, registry=CallRegistry(), ping_interval=60)
    bridge.start()
    for _ in range(500):
        if bridge.resyncs:
            break
        await asyncio.sleep(0.01)
    assert bridge.resyncs == 1
    return bridge, seen


async def test_bridge_reads_wrapuptime_from_asterisk_and_ends_the_wrap_up_on_time() -> None:
    fake = await FakeAmiServer(variables={"HOTLINE_WRAPUP_SECONDS": "1"}).start()
    bridge, seen = await _bridge(fake)
    try:
        assert [e.seconds for e in seen if isinstance(e, ev.QueueWrapUpTime)] == [1]
        await fake.send(frame(Event="QueueCallerJoin", Linkedid="9.1", Uniqueid="9.1", Queue=Q,
                              Channel="PJSIP/trunk-1", CallerIDNum="0341", Position="1")
                        + frame(Event="AgentConnect", Linkedid="9.1", Queue=Q, Interface=AGENT,
                                MemberName="anna", HoldTime="0", RingTime="1")
                        + frame(Event="AgentComplete", Linkedid="9.1", Queue=Q, Interface=AGENT,
                                HoldTime="0", TalkTime="3", Reason="caller"))
        loop = asyncio.get_running_loop()

        def states() -> list[S]:
            return [e.agent.state for e in seen if isinstance(e, ev.AgentUpdated)]

        deadline = loop.time() + 5
        while S.WRAP_UP not in states():
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        started = loop.time()
        while states()[-1] != S.AVAILABLE:  # no AMI event: the bridge's own timer
            assert loop.time() < deadline, states()
            await asyncio.sleep(0.01)
        assert 0.8 < loop.time() - started < 1.5
    finally:
        await bridge.close()
        await fake.stop()


async def test_bridge_without_the_wrapup_global_reports_the_wrapuptime_unknown() -> None:
    for variables, expected in (({}, None), ({"HOTLINE_WRAPUP_SECONDS": "soon"}, None),
                                ({"HOTLINE_WRAPUP_SECONDS": "0"}, 0)):
        fake = await FakeAmiServer(variables=variables).start()  # unset globals answer ""
        bridge, seen = await _bridge(fake)
        try:
            assert [e.seconds for e in seen if isinstance(e, ev.QueueWrapUpTime)] == [expected]
        finally:
            await bridge.close()
            await fake.stop()
