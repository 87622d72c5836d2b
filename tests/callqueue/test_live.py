"""QueueProjection against hand-computed figures: waiting callers, estimates, today's SL."""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from callqueue.live import HISTORY, QueueProjection, Sample, thin
from callqueue.metrics import FinishedCall, figures

from cti import events as ev
from tests.factories import call_snapshot

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def call(linkedid: str, entered: datetime, **kw: object) -> ev.CallSnapshot:
    return call_snapshot(linkedid, caller_raw="0341 1", caller_number="+493411", caller_name="<b>x</b>",
                         entered_at=entered, **kw)


def agent(interface: str, state: ev.AgentState, since: datetime) -> ev.AgentUpdated:
    return ev.AgentUpdated(since, ev.AgentSnapshot(interface, interface, state, "", since,
                                                   ("hotline",), None))


def test_waiting_callers_are_listed_with_live_wait_and_leave_when_answered() -> None:
    p = QueueProjection()
    p.apply(ev.CallUpdated(T0, ev.CallChange.JOINED, call("a", T0)), T0)
    p.apply(ev.CallUpdated(T0, ev.CallChange.JOINED, call("b", T0 + timedelta(seconds=4),
                                                          position=2)), T0)
    v = p.view("hotline", T0 + timedelta(seconds=10))
    assert [(w.caller.linkedid, w.wait_seconds) for w in v.waiting] == [("a", 10.0), ("b", 6.0)]
    assert v.longest_wait_seconds == 10.0
    answered = call("a", T0, answered_at=T0 + timedelta(seconds=12), agent="PJSIP/1001")
    p.apply(ev.CallUpdated(T0, ev.CallChange.ANSWERED, answered), T0)
    assert [w.caller.linkedid for w in p.view("hotline", T0).waiting] == ["b"]


def test_estimate_and_risk_flag_follow_the_agents() -> None:
    p = QueueProjection(threshold=25)
    now = T0 + timedelta(seconds=10)
    p.apply(ev.CallUpdated(T0, ev.CallChange.JOINED, call("a", T0)), T0)
    # nobody staffed: no estimate, at risk
    w = p.view("hotline", now).waiting[0]
    assert w.expected_wait_seconds is None and w.at_risk and not w.breached
    # one free agent: rings now, expected = waited so far, not at risk at 10 s
    p.apply(agent("PJSIP/1001", ev.AgentState.AVAILABLE, T0), T0)
    w = p.view("hotline", now).waiting[0]
    assert w.expected_wait_seconds == 10.0 and not w.at_risk
    # two busy agents, default handle 180 s: 10 + ceil(1/2) * 90 = 100 s -> at risk
    p.apply(agent("PJSIP/1001", ev.AgentState.ON_CALL, T0), T0)
    p.apply(agent("PJSIP/1002", ev.AgentState.ON_CALL, T0), T0)
    v = p.view("hotline", now)
    assert v.waiting[0].expected_wait_seconds == 100.0 and v.waiting[0].at_risk
    assert (v.staffed_agents, v.available_agents) == (2, 0)
    assert [a.seconds_in_state for a in v.agents] == [10.0, 10.0]
    assert v.waiting[0].expected_remaining_seconds == 90.0  # what the browser adds to the live wait
    # 26 s waited: breached
    assert p.view("hotline", T0 + timedelta(seconds=26)).waiting[0].breached


def test_expected_wait_follows_the_live_wait_when_an_agent_is_free() -> None:
    """The wallboard's "expected" once stayed at its first figure (14 s) while the caller
    waited on: with a free agent the estimate is the wait so far, at every moment."""
    p = QueueProjection(threshold=25)
    p.apply(agent("PJSIP/1001", ev.AgentState.AVAILABLE, T0), T0)
    p.apply(ev.CallUpdated(T0, ev.CallChange.JOINED, call("a", T0)), T0)
    early, late = (p.view("hotline", T0 + timedelta(seconds=s)).waiting[0] for s in (14, 39))
    assert (early.expected_wait_seconds, early.expected_remaining_seconds, early.at_risk) == (14.0, 0.0, False)
    assert (late.expected_wait_seconds, late.at_risk, late.breached) == (39.0, True, True)
    nobody = QueueProjection(threshold=25)
    nobody.apply(ev.CallUpdated(T0, ev.CallChange.JOINED, call("a", T0)), T0)
    w = nobody.view("hotline", T0).waiting[0]
    assert w.expected_remaining_seconds is None and w.at_risk


def test_a_caller_whose_agent_rings_is_not_flagged_while_nobody_else_is_free() -> None:
    """The only agent not paused rings for the caller: the wallboard once showed 90 s
    expected, "at risk" and the forecast banner for every such ring; the call is being
    offered, so the expected wait is the wait so far until the promise itself is near."""
    p = QueueProjection(threshold=25)
    p.apply(agent("PJSIP/1001", ev.AgentState.RINGING, T0), T0)
    p.apply(ev.CallUpdated(T0, ev.CallChange.RINGING, call("a", T0, ringing_agents=("PJSIP/1001",))), T0)
    p.apply(ev.CallUpdated(T0, ev.CallChange.JOINED, call("b", T0 + timedelta(seconds=1), position=2)), T0)
    rung, behind = p.view("hotline", T0 + timedelta(seconds=6)).waiting
    assert (rung.expected_wait_seconds, rung.expected_remaining_seconds, rung.at_risk) == (6.0, 0.0, False)
    assert behind.expected_wait_seconds == 5.0 + 2 * 90 and behind.at_risk  # the agent is taken by "a"
    assert p.view("hotline", T0 + timedelta(seconds=21)).waiting[0].at_risk  # within 5 s of the promise
    # nobody answered (RingNoAnswer): the estimate is back
    p.apply(ev.CallUpdated(T0, ev.CallChange.RINGING, call("a", T0)), T0)  # its set of ringing agents: empty
    p.apply(agent("PJSIP/1001", ev.AgentState.AVAILABLE, T0), T0)
    p.apply(agent("PJSIP/1001", ev.AgentState.PAUSED, T0), T0)
    assert p.view("hotline", T0 + timedelta(seconds=8)).waiting[0].expected_wait_seconds is None


def test_the_view_carries_the_service_level_if_everyone_waiting_were_answered_now() -> None:
    p = QueueProjection(threshold=25, short_abandon=5)
    done = call("x", T0, ended_at=T0 + timedelta(seconds=20), outcome=ev.Outcome.ANSWERED, wait_seconds=10,
                talk_seconds=10, answered_at=T0 + timedelta(seconds=10))
    p.apply(ev.CallUpdated(T0, ev.CallChange.ENDED, done), T0 + timedelta(seconds=20))
    assert p.view("hotline", T0).service_level_now == 1.0  # nobody waiting: today's figure
    p.apply(ev.CallUpdated(T0, ev.CallChange.JOINED, call("a", T0)), T0)
    assert p.view("hotline", T0 + timedelta(seconds=20)).service_level_now == 1.0  # 20 s: within
    assert p.view("hotline", T0 + timedelta(seconds=30)).service_level_now == 0.5  # 30 s: late


def test_today_figures_from_ended_calls_and_day_start() -> None:
    p = QueueProjection(threshold=25, short_abandon=5)
    ends = [("a", ev.Outcome.ANSWERED, 10, 60, True), ("b", ev.Outcome.ANSWERED, 30, 120, True),
            ("c", ev.Outcome.ABANDONED, 3, 0, False), ("d", ev.Outcome.ABANDONED, 40, 0, False)]
    for lid, outcome, wait, talk, answered in ends:
        c = call(lid, T0, ended_at=T0 + timedelta(minutes=5), outcome=outcome, wait_seconds=wait,
                 talk_seconds=talk, answered_at=T0 if answered else None)
        p.apply(ev.CallUpdated(T0, ev.CallChange.ENDED, c), T0 + timedelta(minutes=5))
    today = p.today("hotline")
    # offered 4, short abandons 1: SL = 1 / 3; ASA (10+30)/2; abandon rate 1/4
    assert (today.offered, today.answered, today.abandoned) == (4, 2, 2)
    assert today.service_level == 1 / 3 and today.asa == 20 and today.abandon_rate == 0.25
    assert p.view("hotline", T0).waiting == ()
    s = p.sample(T0 + timedelta(minutes=6))["hotline"]
    assert s.waiting == 0 and s.service_level == 1 / 3 and len(p.series("hotline")) == 1
    p.day_start = T0 + timedelta(hours=1)
    assert p.today("hotline").offered == 0


def test_today_kept_as_calls_end_equals_a_recount_of_the_day() -> None:
    """today() adds each call as it ends (a view must not re-read 15,000 calls); after
    any mix of ended and stored calls, two queues, a moved day_start and calls aged out
    of HISTORY, it equals figures() over exactly the calls that count."""
    rng = random.Random(13)
    outcomes = [ev.Outcome.ANSWERED, ev.Outcome.ABANDONED, ev.Outcome.TIMEOUT, ev.Outcome.TRANSFERRED,
                ev.Outcome.AFTER_HOURS, ev.Outcome.CALLBACK, ev.Outcome.OVERFLOWED]
    for day_start in (None, T0 + timedelta(hours=30)):
        p = QueueProjection(threshold=25, short_abandon=5, day_start=day_start)
        p.apply(ev.QueueWrapUpTime(T0, "hotline", 15), T0)
        held: list[tuple[str, datetime, FinishedCall]] = []
        now = T0
        for i in range(600):
            now += timedelta(minutes=rng.choice([1, 5, 20]))
            queue = rng.choice(["hotline", "second"])
            outcome = rng.choice(outcomes)
            wait, talk = float(rng.randint(0, 60)), float(rng.randint(0, 300))
            answered = outcome in (ev.Outcome.ANSWERED, ev.Outcome.TRANSFERRED) or rng.random() < 0.05
            if day_start is not None and rng.random() < 0.2:  # as the feed seeds the day from the database
                f = FinishedCall(outcome.value, wait, talk, answered)
                p.load_finished(queue, now, f)
            else:
                c = call(str(i), now - timedelta(seconds=wait + talk), queue=queue, ended_at=now,
                         outcome=outcome, wait_seconds=wait, talk_seconds=talk,
                         answered_at=now if answered else None)
                p.apply(ev.CallUpdated(now, ev.CallChange.ENDED, c), now)
                f = FinishedCall(outcome.value, wait, talk, answered)
            held.append((queue, now, f))
            if i % 50 == 49 and day_start is not None:  # midnight, as the feed moves it
                p.day_start = day_start = now - timedelta(hours=rng.randint(1, 12))
            if i % 7 == 0:
                for q in ("hotline", "second"):
                    oldest = now - HISTORY if day_start is None else day_start
                    expect = figures([f for qq, at, f in held if qq == q and at >= oldest
                                      and (day_start is not None or now - at <= HISTORY)],
                                     25, 5, 15.0 if q == "hotline" else 0.0)
                    assert p.today(q) == expect, (i, q)


def test_samples_at_any_interval_are_kept_by_age_and_thinned_to_the_chart() -> None:
    p = QueueProjection()
    p.queues.add("hotline")
    for i in range(3 * 720):  # every 5 s for three hours
        p.sample(T0 + timedelta(seconds=5 * i))
    series = p.series("hotline")
    assert len(series) <= 720 and series[-1].at == T0 + timedelta(seconds=5 * (3 * 720 - 1))
    assert [s.at for s in series] == sorted(s.at for s in series)
    p.day_start = T0 + timedelta(hours=4)  # a new day: yesterday's samples go with the next sample
    p.sample(T0 + timedelta(hours=4, seconds=1))
    assert [s.at for s in p.series("hotline")] == [T0 + timedelta(hours=4, seconds=1)]


def test_thinning_keeps_peaks_and_gaps() -> None:
    at = [T0 + timedelta(seconds=10 * i) for i in range(100)]
    at += [T0 + timedelta(hours=1, seconds=10 * i) for i in range(100)]  # ~43 min without samples
    samples = [Sample(t, 7 if i == 42 else 1, None) for i, t in enumerate(at)]
    kept = thin(samples, 50)
    assert len(kept) <= 50 and kept[-1] == samples[-1]
    assert any(s.waiting == 7 for s in kept)  # the peak survives
    steps = [(b.at - a.at).total_seconds() for a, b in pairwise(kept)]
    assert max(steps) > 2000  # the stretch without samples is still without points
    assert thin(samples[:10], 50) == samples[:10]


def test_a_days_finished_calls_are_not_left_for_the_garbage_collector_to_walk() -> None:
    """Held as plain tuples, 5,000 finished calls add (next to) no object a full collection
    walks; as dataclasses they added two each (10,000; the margin is for other threads)."""
    p = QueueProjection(day_start=T0)
    gc.collect()
    before = len(gc.get_objects())
    for i in range(5000):
        p.load_finished("hotline", T0 + timedelta(seconds=i), FinishedCall("answered", 5.0, 60.0, True))
    gc.collect()
    assert len(gc.get_objects()) - before < 2500
    assert p.today("hotline").answered == 5000
