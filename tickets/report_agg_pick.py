"""The median and 90th percentile of the time to resolve over many histograms, without
merging them bin by bin (issue 18: a year's report in under a second).

Layer: pure. A histogram (tickets.report_agg: fixed bins, each with count, total, lo,
hi) becomes a `Run`: its filled bins in order with their counts. A month's
histogram of one group is stored packed as one value (`pack`/`unpack`,
report_agg_month_bins), so a year by organisation reads 12 values per organisation
instead of a row per bin: at the corporate desk's scale that is about one row per
resolved ticket (≈ 500,000), which neither database sums and ranks within a second.
Over several runs, the bins are merged in order as ints (bin and count in one, so the
merge is one C-level sort of already sorted runs), the counts summed as they go, and
the k-th time's bin found by bisecting those sums; only the bins holding the median
and the p90 are merged cell by cell. The result is the `Picked` the figures are
computed from, exactly as from the merged histogram. Written here because no
maintained library merges such fixed-bin histograms (numpy would do the arithmetic,
but is a large dependency for this).
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, repeat
from operator import and_
from typing import Any

from tickets.report_agg import Bin, Picked, median_ks, p90_k

_SHIFT = 32
_COUNT = (1 << _SHIFT) - 1  # a key's low bits: the bin's count
_LITTLE = sys.byteorder == "little"
_FLOAT = struct.Struct("<d")


@dataclass(frozen=True, slots=True)
class Run:
    """A histogram's filled bins in bin order, each as one int: bin << 32 | count (so
    several runs merge with one C-level sort of ints)."""

    keys: list[int]
    cells: Sequence[Bin] | None = None  # in memory; None: read from `packed` for the bins picked
    packed: bytes = b""

    def cell(self, b: int) -> Bin | None:
        i = bisect_left(self.keys, b << _SHIFT)
        if i == len(self.keys) or self.keys[i] >> _SHIFT != b:
            return None
        if self.cells is not None:
            return self.cells[i]
        m = len(self.keys)
        total, lo, hi = (_FLOAT.unpack_from(self.packed, 4 + 8 * m + 8 * (m * j + i))[0] for j in range(3))
        return Bin(self.keys[i] & _COUNT, total, lo, hi)


def _native(a: array[Any], data: bytes) -> array[Any]:
    a.frombytes(data)
    if not _LITTLE:
        a.byteswap()
    return a


def run(hist: Mapping[int, Bin]) -> Run:
    bins = sorted(b for b, c in hist.items() if c.n)
    return Run([b << _SHIFT | hist[b].n for b in bins], [hist[b] for b in bins])


def pack(hist: Mapping[int, Bin]) -> bytes:
    """The histogram as one value (little-endian): m, then m keys (int64: bin << 32 |
    count), m totals, m los and m his (float64)."""
    r = run(hist)
    cells = r.cells or []
    parts: list[array[Any]] = [array("i", [len(r.keys)]), array("q", r.keys),
                               *(array("d", (getattr(c, f) for c in cells)) for f in ("total", "lo", "hi"))]
    if not _LITTLE:
        for p in parts:
            p.byteswap()
    return b"".join(p.tobytes() for p in parts)


def unpack(packed: bytes) -> Run:
    """`pack`'s value as a run; the floats are read only for the bins picked."""
    m = _native(array("i"), packed[:4])[0]
    return Run(_native(array("q"), packed[4:4 + 8 * m]).tolist(), None, packed)


def pick(runs: Iterable[Run]) -> Picked:
    """The bins a median and a 90th percentile need, over all runs together: the keys of
    all runs merged in order (a sort of already sorted runs), their counts summed as they
    go, and the k-th time's bin found by bisecting those running counts."""
    filled = [r for r in runs if r.keys]
    if not filled:
        return Picked(0)
    keys = filled[0].keys if len(filled) == 1 else sorted(chain.from_iterable(r.keys for r in filled))
    upto = list(accumulate(map(and_, keys, repeat(_COUNT))))
    n = upto[-1]
    cells: dict[int, tuple[int, Bin]] = {}
    for k in {*median_ks(n), p90_k(n)}:
        b = keys[bisect_left(upto, k)] >> _SHIFT
        if b in cells:
            continue
        first = bisect_left(keys, b << _SHIFT)
        merged = Bin()
        for r in filled:
            c = r.cell(b)
            if c is not None:
                merged.add(c)
        cells[b] = (upto[first - 1] if first else 0, merged)
    return Picked(n, tuple(cells[b] for b in sorted(cells)))
