"""tickets.report_agg_pick: the median and p90 picked over several histograms (packed
or in memory) equal those of the histograms merged bin by bin."""

from __future__ import annotations

import math
import random

import pytest

from tickets.report_agg import Bin, Histogram, Picked, median_hours, p90_hours, resolve_bin
from tickets.report_agg_pick import pack, pick, run, unpack


def _merged_pick(hist: Histogram) -> Picked:
    """The plain way: every bin in order with the count before it."""
    cells, before = [], 0
    for b in sorted(hist):
        cells.append((before, hist[b]))
        before += hist[b].n
    return Picked(before, tuple(cells))


def _same(got: float | None, want: float | None) -> None:
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        assert math.isclose(got, want, rel_tol=1e-12), (got, want)


@pytest.mark.parametrize("seed", range(40))
def test_picked_over_runs_equals_the_merged_histogram(seed: int) -> None:
    rng = random.Random(seed)
    merged: Histogram = {}
    runs = []
    for _ in range(rng.randint(1, 14)):
        hist: Histogram = {}
        for _ in range(rng.choice((0, 1, 2, 5, 80))):
            seconds = rng.choice((rng.uniform(0, 86400), rng.uniform(0, 40 * 86400), 120.0, 0.0))
            for h in (hist, merged):
                h.setdefault(resolve_bin(seconds), Bin()).add(Bin(1, seconds, seconds, seconds))
        runs.append(unpack(pack(hist)) if rng.random() < 0.5 else run(hist))
    got, want = pick(runs), _merged_pick(merged)
    assert got.n == want.n
    _same(median_hours(got), median_hours(want))
    _same(p90_hours(got), p90_hours(want))


def test_a_packed_histogram_keeps_every_bin() -> None:
    hist = {3: Bin(2, 400.0, 180.0, 220.0), 1500: Bin(1, 90000.0, 90000.0, 90000.0), 0: Bin(1, 1.5, 1.5, 1.5)}
    back = unpack(pack(hist))
    assert back.keys == [0 << 32 | 1, 3 << 32 | 2, 1500 << 32 | 1]
    assert [back.cell(b) for b in (0, 3, 1500)] == [hist[0], hist[3], hist[1500]]
    assert back.cell(4) is None and back.cell(-1) is None and back.cell(2000) is None


def test_even_counts_take_the_mean_of_the_two_middle_times() -> None:
    a = run({0: Bin(1, 30.0, 30.0, 30.0)})
    b = unpack(pack({5: Bin(1, 330.0, 330.0, 330.0)}))
    got = pick([a, b])
    assert median_hours(got) == pytest.approx((30 + 330) / 2 / 3600)
    assert p90_hours(got) == pytest.approx(330 / 3600)
    assert pick([]) == Picked(0) and median_hours(pick([run({})])) is None
