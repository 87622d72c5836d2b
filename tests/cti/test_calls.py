"""CallRegistry on hand-built event sequences: every outcome, pops withdrawn, resync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cti import events as ev
from cti.calls import CallRegistry

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
L = "1700000000.1"


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def run(reg: CallRegistry, events: list[ev.DomainEvent]) -> list[ev.CallUpdated | ev.AgentUpdated]:
    out: list[ev.CallUpdated | ev.AgentUpdated] = []
    for e in events:
        out += reg.apply(e, e.at if hasattr(e, "at") else T0)
    return out


def join(s: float = 0, linkedid: str = L) -> ev.CallerJoinedQueue:
    return ev.CallerJoinedQueue(t(s), linkedid, linkedid, "PJSIP/trunk-1", "hotline",
                                "0341/2538-5555", "<b>Erika</b>", 1)


def ring(agent: str, s: float) -> ev.AgentRinging:
    return ev.AgentRinging(t(s), L, "hotline", agent, agent, "x")


def calls_of(out: list[ev.CallUpdated | ev.AgentUpdated]) -> list[ev.CallUpdated]:
    return [u for u in out if isinstance(u, ev.CallUpdated)]


def test_answered_elsewhere_withdraws_the_other_pop() -> None:
    reg = CallRegistry()
    out = run(reg, [join(), ring("PJSIP/1001", 1), ring("PJSIP/1002", 1),
                    ev.CallAnswered(t(4), L, "hotline", "PJSIP/1002", "a2", 4, 3)])
    answered = calls_of(out)[-1]
    assert answered.change == "answered" and answered.withdrawn_from == ("PJSIP/1001",)
    assert answered.call.caller_number == "+4934125385555"
    assert answered.call.caller_name == "<b>Erika</b>"  # data, escaped at display
    out = run(reg, [ev.CallCompleted(t(64), L, "hotline", "PJSIP/1002", 4, 60, ev.CompletedBy.AGENT),
                    ev.CallEnded(t(64), L, 16)])
    end = calls_of(out)[-1]
    assert end.change == "ended" and end.call.outcome == "answered"
    assert (end.call.wait_seconds, end.call.talk_seconds, end.call.duration_seconds) == (4, 60, 64)
    assert reg.calls() == []


def test_ring_no_answer_withdraws_only_that_agent() -> None:
    reg = CallRegistry()
    out = run(reg, [join(), ring("PJSIP/1001", 0),
                    ev.RingNotAnswered(t(15), L, "hotline", "PJSIP/1001", 15.0),
                    ring("PJSIP/1002", 16)])
    updates = calls_of(out)
    assert updates[2].withdrawn_from == ("PJSIP/1001",)
    assert updates[-1].call.ringing_agents == ("PJSIP/1002",)
    agent = [u for u in out if isinstance(u, ev.AgentUpdated) and u.agent.agent == "PJSIP/1001"]
    assert [a.agent.state for a in agent] == ["ringing", "available"]


def test_abandon_then_hangup_is_abandoned() -> None:
    reg = CallRegistry()
    out = run(reg, [join(), ring("PJSIP/1001", 1), ev.CallAbandoned(t(9), L, "hotline", 1, 1, 9),
                    ev.CallEnded(t(9), L, 16)])
    left = [u for u in calls_of(out) if u.change == "left_queue"][0]
    assert left.withdrawn_from == ("PJSIP/1001",)
    end = calls_of(out)[-1]
    assert end.call.outcome == "abandoned" and end.call.wait_seconds == 9


def test_timeout_reported_as_abandon_is_a_timeout() -> None:
    # Asterisk 22: QueueCallerAbandon comes first, then the dialplan's HotlineQueueExit
    reg = CallRegistry()
    out = run(reg, [join(), ev.CallAbandoned(t(60), L, "hotline", 1, 1, 60),
                    ev.CallTimedOut(t(60), L, "hotline", ev.LeaveReason.TIMEOUT),
                    ev.CallEnded(t(62), L, 16)])
    assert calls_of(out)[-1].call.outcome == "timeout"


def test_blind_transfer_keeps_one_call() -> None:
    reg = CallRegistry()
    out = run(reg, [join(), ring("PJSIP/1001", 1),
                    ev.CallAnswered(t(3), L, "hotline", "PJSIP/1001", "a1", 3, 2),
                    ev.CallTransferred(t(30), L, "1005", "PJSIP/1001", True),
                    ev.CallCompleted(t(30), L, "hotline", "PJSIP/1001", 3, 27,
                                     ev.CompletedBy.TRANSFER),
                    ev.CallEnded(t(90), L, 16)])
    end = calls_of(out)[-1]
    assert end.call.outcome == "transferred" and end.call.transferred_to == "1005"
    assert end.call.agent == "PJSIP/1001" and end.call.talk_seconds == 27


def test_after_hours() -> None:
    reg = CallRegistry()
    out = run(reg, [ev.AfterHoursCall(t(0), L, L, "hotline", "anonymous", ""),
                    ev.CallEnded(t(5), L, 16)])
    end = calls_of(out)[-1]
    assert end.call.outcome == "after_hours" and end.call.caller_number is None
    assert end.call.wait_seconds is None


def test_pause_with_reason_and_back() -> None:
    reg = CallRegistry()
    a = "PJSIP/1001"
    out = run(reg, [ev.AgentLoggedIn(t(0), a, "agent1001", "hotline", False, ""),
                    ev.AgentPaused(t(10), a, "hotline", "Mittagspause"),
                    ev.AgentUnpaused(t(70), a, "hotline"),
                    ev.AgentLoggedOut(t(80), a, "hotline")])
    states = [(u.agent.state, u.agent.pause_reason, u.agent.since) for u in out
              if isinstance(u, ev.AgentUpdated)]
    assert states == [("available", "", t(0)), ("paused", "Mittagspause", t(10)),
                      ("available", "", t(70)), ("logged_out", "", t(80))]


def test_resync_ends_calls_asterisk_no_longer_has_exactly_once() -> None:
    reg = CallRegistry()
    other = "1700000000.9"
    run(reg, [join(0), join(1, other), ring("PJSIP/1001", 2)])
    # connection lost; on reconnect only `other` is still waiting
    out = run(reg, [ev.WaitingCallerSnapshot(t(30), other, other, "hotline", 1, "+4930", "", 29),
                    ev.ResyncCompleted(t(30), frozenset({other}))])
    ended = [u for u in calls_of(out) if u.change == "ended"]
    assert [u.call.linkedid for u in ended] == [L]
    assert ended[0].withdrawn_from == ("PJSIP/1001",)
    assert run(reg, [ev.ResyncCompleted(t(31), frozenset({other})), ev.CallEnded(t(32), L, 16)]) == []
    assert [c.linkedid for c in reg.calls()] == [other]


def test_resync_rebuilds_a_waiting_caller_never_seen() -> None:
    reg = CallRegistry()
    out = run(reg, [ev.WaitingCallerSnapshot(t(100), L, L, "hotline", 2, "034125385555", "E", 40),
                    ev.ResyncCompleted(t(100), frozenset({L}))])
    call = calls_of(out)[0].call
    assert call.entered_at == t(60) and call.position == 2
    assert call.caller_number == "+4934125385555"


def test_answered_snapshot_rings_nobody_and_timeout_releases_ringing_agents() -> None:
    reg = CallRegistry()
    out = run(reg, [join(), ring("PJSIP/1001", 1), ring("PJSIP/1002", 1),
                    ev.CallAnswered(t(4), L, "hotline", "PJSIP/1002", "a2", 4, 3)])
    assert calls_of(out)[-1].call.ringing_agents == ()
    reg2 = CallRegistry()
    out = run(reg2, [join(), ring("PJSIP/1001", 1),
                     ev.CallTimedOut(t(60), L, "hotline", ev.LeaveReason.TIMEOUT)])
    assert calls_of(out)[-1].withdrawn_from == ("PJSIP/1001",)
    states = [u.agent.state for u in out if isinstance(u, ev.AgentUpdated)]
    assert states == ["ringing", "available"]


def test_the_agi_route_before_the_join_is_in_every_snapshot_of_the_call() -> None:
    reg = CallRegistry()
    route = ev.CallRoute(reason="team", team="Werke", language="en", priority=10)
    assert run(reg, [ev.CallRouted(t(0), L, route)]) == []  # no call yet: nothing to say
    assert reg.call(L) is None
    out = calls_of(run(reg, [join(0.1), ring("PJSIP/1002", 1)]))
    assert [u.call.route for u in out] == [route, route]
    other = "1700000000.9"
    run(reg, [join(2, other)])
    late = ev.CallRoute(reason="fallback")
    assert run(reg, [ev.CallRouted(t(2.1), other, late)]) == []
    assert reg.call(other) is not None and reg.call(other).route == late  # type: ignore[union-attr]


def test_routes_of_callers_who_never_join_are_forgotten() -> None:
    from cti.calls import REMEMBER_ROUTES

    reg = CallRegistry()
    for n in range(REMEMBER_ROUTES + 10):
        reg.apply(ev.CallRouted(t(0), f"x.{n}", ev.CallRoute(reason="unknown")), T0)
    assert len(reg._routes) == REMEMBER_ROUTES
    assert "x.0" not in reg._routes and f"x.{REMEMBER_ROUTES + 9}" in reg._routes


def test_a_caller_who_leaves_for_a_callback_ends_as_callback_not_abandoned() -> None:
    reg = CallRegistry()
    out = run(reg, [join(), ev.CallbackRequested(t(12), L, 7), ev.CallEnded(t(15), L, 16)])
    end = calls_of(out)[-1]
    assert (end.change, end.call.outcome, end.call.answered_at) == ("ended", "callback", None)
    # an unknown call, or one answered already, is left as it is
    assert run(reg, [ev.CallbackRequested(t(20), "nobody", 8)]) == []
