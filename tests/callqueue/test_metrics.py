"""Metric definitions against figures computed by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest
from callqueue.metrics import CALLBACK, FinishedCall, figures, service_level_if_answered_now, tally

CALLS = [
    FinishedCall("answered", 10, 100),   # within 25
    FinishedCall("answered", 25, 200),   # within (<= T)
    FinishedCall("answered", 40, 300),   # late
    FinishedCall("transferred", 5, 60),  # answered, then transferred: within
    FinishedCall("abandoned", 3),        # short abandon (< 5 s)
    FinishedCall("abandoned", 20),       # abandoned within T
    FinishedCall("abandoned", 50),       # abandoned after T
    FinishedCall("timeout", 60),
    FinishedCall("after_hours", 0),      # never offered
]


def test_hand_computed_figures() -> None:
    f = figures(CALLS, threshold=25, short_abandon=5, wrapup_seconds=10)
    assert (f.offered, f.answered, f.answered_within) == (8, 4, 3)
    assert (f.abandoned, f.short_abandons, f.timeouts, f.after_hours) == (3, 1, 1, 1)
    assert f.service_level == pytest.approx(3 / 7)   # 3 within / (8 offered - 1 short)
    assert f.sl_asterisk == pytest.approx(3 / 4)     # answered only
    assert f.sl2_asterisk == pytest.approx(5 / 7)    # (3 + 2 abandoned within) / (4 + 3)
    assert f.asa == pytest.approx((10 + 25 + 40 + 5) / 4)
    assert f.aht == pytest.approx((100 + 200 + 300 + 60) / 4 + 10)
    assert f.abandon_rate == pytest.approx(2 / 8)    # abandoned after 5 s / offered
    assert f.longest_wait == 60


def test_nothing_to_divide_by_is_none_not_zero() -> None:
    f = figures([FinishedCall("after_hours", 0)])
    assert f.offered == 0
    assert f.service_level is None and f.asa is None and f.abandon_rate is None
    assert f.longest_wait is None


def test_threshold_is_a_setting() -> None:
    calls = [FinishedCall("answered", 20, 60), FinishedCall("answered", 30, 60)]
    assert figures(calls, threshold=25).service_level == pytest.approx(0.5)
    assert figures(calls, threshold=30).service_level == pytest.approx(1.0)


def test_service_level_if_every_waiting_caller_were_answered_now() -> None:
    today = figures(CALLS, threshold=25, short_abandon=5)  # 3 within of 7 (8 offered - 1 short)
    # two callers waiting: 10 s (would count within), 30 s (late); 3 s counts as offered too
    assert service_level_if_answered_now(today, [10.0, 30.0]) == pytest.approx(4 / 9)
    assert service_level_if_answered_now(today, [3.0]) == pytest.approx(4 / 8)
    assert service_level_if_answered_now(today, [25.0]) == pytest.approx(4 / 8)  # <= T is within
    assert service_level_if_answered_now(today, []) == today.service_level
    empty = figures([], threshold=25)
    assert service_level_if_answered_now(empty, []) is None  # nothing offered: no figure, not 100 %
    assert service_level_if_answered_now(empty, [40.0]) == 0.0


def test_a_callback_is_offered_and_unanswered_but_never_an_abandon() -> None:
    f = figures([FinishedCall(CALLBACK, 40.0), FinishedCall("answered", 10.0, 60.0),
                 FinishedCall("abandoned", 30.0)])
    assert (f.offered, f.answered, f.abandoned, f.abandon_rate) == (3, 1, 1, 1 / 3)
    assert f.service_level == 1 / 3


@pytest.mark.parametrize("cut", range(len(CALLS) + 1))
def test_merged_tallies_are_the_tally_of_all_their_calls(cut: int) -> None:
    """The sites board's total merges the sites' tallies: every figure as if one tally had
    counted every call (the longest wait a max, not a sum), wherever the calls are split."""
    whole = tally(CALLS, 25, 5)
    merged = tally(CALLS[:cut], 25, 5)
    merged.merge(tally(CALLS[cut:], 25, 5))
    assert merged.figures(10) == whole.figures(10)
    assert merged.longest_wait == 60


def test_tallies_of_different_thresholds_are_not_merged() -> None:
    with pytest.raises(ValueError, match="different thresholds"):
        tally(CALLS, 25, 5).merge(tally(CALLS, 20, 5))


@pytest.mark.parametrize("gone", range(len(CALLS)))
def test_a_call_taken_out_leaves_the_tally_of_the_others(gone: int) -> None:
    """The sites board takes a call out of its tally when its record is written again: every
    figure as if the others alone had been counted; True only when the longest wait left."""
    t = tally(CALLS, 25, 5)
    maybe_longest = t.remove(CALLS[gone])
    rest = CALLS[:gone] + CALLS[gone + 1:]
    assert maybe_longest == (CALLS[gone].wait_seconds == 60)  # the timeout's 60 s is the longest
    if not maybe_longest:
        assert t.figures(10) == tally(rest, 25, 5).figures(10)
    else:  # the maximum still shows the call taken out: the caller counts again
        assert t.figures(10) == replace(tally(rest, 25, 5).figures(10), longest_wait=60)
