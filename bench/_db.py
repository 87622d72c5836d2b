"""What the database benchmarks share: a throwaway SQLite file, then (with --pg) a
throwaway PostgreSQL schema, and the quantile they report."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tickets.db import scratch_schema  # noqa: E402


def databases(pg: str | None, name: str = "bench.db") -> Iterator[tuple[str, str]]:
    """("sqlite", a fresh file's URL), then with `pg` ("postgresql", a scratch schema's URL);
    each is gone once the loop moves on."""
    with tempfile.TemporaryDirectory() as tmp:
        yield "sqlite", f"sqlite:///{Path(tmp) / name}"
    if pg:
        with scratch_schema(pg, "hl_bench") as url:
            yield "postgresql", url


def quantile_ms(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of `values` in seconds, in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
