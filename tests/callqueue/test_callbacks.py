"""The callback's decisions (pure): what the caller hears, who is called back next,
what an attempt's result does; and the wallboard forecast they start from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callqueue import callbacks as cb
from callqueue.live import Forecast, QueueProjection

from cti import events as ev
from tests.factories import call_snapshot

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def _agent(p: QueueProjection, interface: str, state: ev.AgentState) -> None:
    p.apply(ev.AgentUpdated(T0, ev.AgentSnapshot(interface, interface, state, "", T0, ("hotline",), None)), T0)


def _waiting(p: QueueProjection, linkedid: str, entered: datetime) -> None:
    p.apply(ev.CallUpdated(entered, ev.CallChange.JOINED, call_snapshot(
        linkedid, caller_raw="0341 1", caller_number="+493411", entered_at=entered)), entered)


def test_forecast_for_a_new_caller_and_for_one_already_waiting() -> None:
    p = QueueProjection(threshold=25)
    assert p.forecast("hotline", T0) == Forecast(0, None, True, 25)  # nobody staffed: no estimate
    _agent(p, "PJSIP/1001", ev.AgentState.AVAILABLE)
    assert p.forecast("hotline", T0) == Forecast(0, 0.0, False, 25)  # an agent is free
    _agent(p, "PJSIP/1001", ev.AgentState.ON_CALL)
    _waiting(p, "a", T0)
    # one busy agent, handle 180 s (no calls today): one ahead, 2 rounds of 90 s
    assert p.forecast("hotline", T0 + 10 * S) == Forecast(1, 180.0, True, 25)
    # the waiting caller's own row, as the wallboard has it
    assert p.forecast("hotline", T0 + 10 * S, "a") == Forecast(0, 90.0, True, 25)
    assert p.waiting_caller("a") is not None and p.waiting_caller("zz") is None


def test_announcement_only_when_the_forecast_breaks_the_promise() -> None:
    assert cb.announcement(Forecast(0, 0.0, False, 25)) is None  # an agent is free
    assert cb.announcement(Forecast(0, 12.0, False, 25)) is None  # within the promise
    assert cb.announcement(Forecast(3, None, True, 25)) is None  # nobody staffed: no estimate
    assert cb.announcement(Forecast(2, 61.0, True, 25)) == cb.Announcement(2, 2, True)
    assert cb.announcement(Forecast(0, 30.0, True, 25)) == cb.Announcement(0, 1, True)


def place(cid: int, joined: datetime, not_before: datetime | None = None) -> cb.VirtualPlace:
    return cb.VirtualPlace(cid, "hotline", joined, "+493415550123", not_before=not_before)


def test_the_oldest_place_goes_first_but_never_before_an_older_real_caller() -> None:
    places = [place(2, T0 + 5 * S), place(1, T0 + 3 * S), place(3, T0 + 9 * S)]
    now = T0 + 60 * S
    got = cb.next_dispatch(places, "hotline", [T0 + 8 * S], ["PJSIP/1001"], now)
    assert got == cb.Dispatch(places[1], "PJSIP/1001")
    # a real caller who joined before the oldest place: Asterisk serves them first
    assert cb.next_dispatch(places, "hotline", [T0 + 1 * S], ["PJSIP/1001"], now) is None
    # nobody free, or another queue's places only
    assert cb.next_dispatch(places, "hotline", [], [], now) is None
    assert cb.next_dispatch(places, "other", [], ["PJSIP/1001"], now) is None


def test_an_agent_already_ringing_for_a_callback_is_not_taken_twice_and_retries_wait() -> None:
    now = T0 + 60 * S
    ringing = cb.dialing(place(1, T0), "PJSIP/1001", now)
    later = place(2, T0 + S, not_before=now + 10 * S)
    third = place(3, T0 + 2 * S)
    got = cb.next_dispatch([ringing, later, third], "hotline", [], ["PJSIP/1001", "PJSIP/1002"], now)
    assert got == cb.Dispatch(third, "PJSIP/1002")
    assert cb.next_dispatch([ringing, later], "hotline", [], ["PJSIP/1001"], now) is None


def test_attempt_results() -> None:
    now = T0 + 60 * S
    ringing = cb.dialing(place(1, T0), "PJSIP/1001", now)
    assert cb.after_attempt(ringing, "ANSWER", now).state is cb.PlaceState.DONE
    back = cb.after_attempt(ringing, None, now)  # the agent did not take it: no attempt counted
    assert (back.state, back.attempts, back.agent, back.not_before) == (cb.PlaceState.WAITING, 0, "", None)
    first = cb.after_attempt(ringing, "NOANSWER", now)
    assert (first.state, first.attempts, first.not_before) == (cb.PlaceState.WAITING, 1, now + cb.RETRY_AFTER)
    second = cb.after_attempt(cb.dialing(first, "PJSIP/1001", now), "BUSY", now)
    third = cb.after_attempt(cb.dialing(second, "PJSIP/1001", now), "CHANUNAVAIL", now)
    assert (second.attempts, third.state, third.attempts) == (2, cb.PlaceState.GIVEN_UP, 3)
    assert third.joined_at == T0  # the place kept its order key all along


def test_overdue_dialling_goes_back() -> None:
    now = T0 + 200 * S
    fresh = cb.dialing(place(1, T0), "PJSIP/1001", now - 10 * S)
    stale = cb.dialing(place(2, T0), "PJSIP/1002", now - 100 * S)
    assert cb.overdue([fresh, stale, place(3, T0)], now) == [stale]
