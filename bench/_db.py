"""What the database benchmarks share: their options parser with --pg, a throwaway
SQLite file, then (with --pg) a throwaway PostgreSQL schema, the migrated engine,
inserts in batches, and the quantile they report."""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tickets.db import make_engine, scratch_schema  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402

T = TypeVar("T")


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's options: described by its docstring's first line, with --pg."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    ap.add_argument("--pg", help="PostgreSQL URL; a throwaway schema is created and dropped")
    return ap


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


def migrated_engine(url: str) -> Engine:
    """The database at `url` upgraded to the newest schema, and an engine on it."""
    upgrade(url)
    return make_engine(url)


def batches(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """`rows` in lists of `size` (the last one shorter), one executemany insert each."""
    it = iter(rows)
    while batch := list(itertools.islice(it, size)):
        yield batch
