"""The sites' board (callqueue.sites), a pure reducer: per-site snapshots -> totals and rows,
against hand-computed figures; a site that is down is shown as down, its numbers stale and
out of the live totals (named in `missing`), never silently zero or missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from callqueue.metrics import FinishedCall
from callqueue.sites import DownReason, SiteInput, SiteState, board, day_figures

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def site(name: str, waiting: int = 0, oldest: datetime | None = None, available: int = 0, staffed: int = 0,
         bridge_up: bool = True, pbx: bool = True, synced: bool = True, live_at: datetime | None = None) -> SiteInput:
    return SiteInput(name, bridge_up, pbx, synced, waiting, oldest, available, staffed, live_at)


def answered(wait: float) -> FinishedCall:
    return FinishedCall("answered", wait, 60.0, True)


def abandoned(wait: float) -> FinishedCall:
    return FinishedCall("abandoned", wait, 0.0, False)


TODAY = {
    # a: 3 answered (10, 20 s within 25; 40 s not), 1 abandoned after 30 s
    "a": [answered(10), answered(20), answered(40), abandoned(30)],
    # b: 1 answered at 5 s, 1 short abandon (2 s: not offered for the SL)
    "b": [answered(5), abandoned(2)],
}


def test_totals_are_the_sum_of_the_sites_and_the_longest_wait_is_the_oldest_caller() -> None:
    b = board([site("a", 2, T0 + timedelta(seconds=30), 1, 3), site("b", 3, T0, 0, 2)], day_figures(TODAY))
    assert [r.site for r in b.sites] == ["a", "b"]
    assert (b.total.waiting, b.total.available, b.total.staffed) == (5, 1, 5)
    assert b.total.oldest_entered_at == T0  # b's caller, waiting longest: a max, not a sum
    assert b.total.missing == ()
    a_row, b_row = b.sites
    assert (a_row.state, a_row.reason, a_row.stale) == (SiteState.UP, None, False)
    assert (a_row.waiting, a_row.available, a_row.staffed) == (2, 1, 3)
    # a: SL = within (2) / (offered 4 - short 0); ASA = (10+20+40)/3; abandon = 1/4
    assert a_row.today.service_level == pytest.approx(2 / 4)
    assert a_row.today.asa == pytest.approx(70 / 3)
    assert a_row.today.abandon_rate == pytest.approx(1 / 4)
    # b: SL = 1 / (2 - 1 short); abandon rate leaves the short one out: 0
    assert b_row.today.service_level == pytest.approx(1.0)
    assert b_row.today.abandon_rate == pytest.approx(0.0)


def test_todays_totals_are_over_every_call_not_an_average_of_the_sites() -> None:
    t = board([site("a"), site("b")], day_figures(TODAY)).total.today
    assert (t.offered, t.answered, t.abandoned, t.short_abandons) == (6, 4, 2, 1)
    assert t.service_level == pytest.approx(3 / 5)  # (2 + 1) within / (6 offered - 1 short); the mean would be 0.75
    assert t.asa == pytest.approx(75 / 4)
    assert t.abandon_rate == pytest.approx(1 / 6)


@pytest.mark.parametrize(("bridge_up", "pbx_up", "synced", "reason"), [
    (False, True, True, DownReason.BRIDGE_SILENT),
    (False, False, False, DownReason.BRIDGE_SILENT),  # silence says the most
    (True, False, True, DownReason.PBX_DISCONNECTED),
    (True, True, False, DownReason.NOT_SYNCED),
])
def test_a_site_down_is_shown_down_with_its_last_numbers_stale_and_out_of_the_live_totals(
        bridge_up: bool, pbx_up: bool, synced: bool, reason: DownReason) -> None:
    since = T0 - timedelta(minutes=2)
    b = board([site("a", 2, T0, 1, 3),
               site("b", 4, T0 - timedelta(minutes=5), 2, 2, bridge_up, pbx_up, synced, live_at=since)],
              day_figures(TODAY))
    down = b.sites[1]
    assert (down.site, down.state, down.reason, down.stale) == ("b", SiteState.DOWN, reason, True)
    assert (down.waiting, down.available, down.staffed, down.live_at) == (4, 2, 2, since)  # last known, not zero
    assert b.total.missing == ("b",)
    assert (b.total.waiting, b.total.available, b.total.staffed, b.total.oldest_entered_at) == (2, 1, 3, T0)
    assert b.total.today.offered == 6  # today's calls are in the database whatever the bridge does


def test_a_site_with_calls_today_but_never_heard_gets_a_down_row() -> None:
    b = board([site("a")], day_figures(TODAY))
    assert [(r.site, r.state, r.reason) for r in b.sites] == [
        ("a", SiteState.UP, None), ("b", SiteState.DOWN, DownReason.BRIDGE_SILENT)]
    assert b.total.missing == ("b",)


def test_no_calls_and_no_callers_are_none_not_zero_percent() -> None:
    b = board([site("a")], day_figures({}))
    assert b.total.today.service_level is None and b.total.today.asa is None
    assert b.total.oldest_entered_at is None and b.total.waiting == 0
