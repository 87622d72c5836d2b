"""What the database benchmarks share: their options parser with --pg, a throwaway
SQLite file, then (with --pg) a throwaway PostgreSQL schema, the migrated engine,
inserts in batches, and the quantile they report.

`--realtime` (root only): this process, and with --pg the PostgreSQL backends serving
it (found by their application_name), run at SCHED_FIFO priority. On a machine busy
with other work (load average 15-20 on 2 CPUs here) a benchmark's wall-clock figures
then show what its work takes when it gets a core, as on an idle machine, instead of
how long it waited for one; the work itself is unchanged. Say so beside figures."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, insert, make_url, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callqueue.feed import day_start  # noqa: E402

from tickets.db import make_engine, scratch_schema  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import CallRecord  # noqa: E402
from tickets.sites import DEFAULT_SITE  # noqa: E402

T = TypeVar("T")


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's options: described by its docstring's first line, with --pg."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    ap.add_argument("--pg", help="PostgreSQL URL; a throwaway schema is created and dropped")
    ap.add_argument("--realtime", action="store_true",
                    help="run at SCHED_FIFO priority, with the PostgreSQL backends serving it (root; see bench/_db.py)")
    return ap


APP_NAME = "hotline-bench"
_realtime = False


def realtime() -> None:
    """This process (and the threads it starts) at SCHED_FIFO priority 10; with --pg,
    `databases` raises its backends too."""
    global _realtime
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    _realtime = True
    print("realtime: this process and its PostgreSQL backends at SCHED_FIFO 10", flush=True)


def _raise_backends(url: str, stop: threading.Event) -> None:
    """Every 0.2 s: the backends named APP_NAME to SCHED_FIFO (new ones as the pools open them)."""
    watcher = create_engine(make_url(url).set(query={}), isolation_level="AUTOCOMMIT")
    done: set[int] = set()
    with watcher.connect() as conn:
        while not stop.wait(0.2):
            for (pid,) in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                                       {"n": APP_NAME}):
                if pid not in done:
                    try:
                        os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(10))
                        done.add(pid)
                    except OSError as exc:
                        print(f"realtime: backend {pid}: {exc}", flush=True)
    watcher.dispose()


def databases(pg: str | None, name: str = "bench.db") -> Iterator[tuple[str, str]]:
    """("sqlite", a fresh file's URL), then with `pg` ("postgresql", a scratch schema's URL);
    each is gone once the loop moves on."""
    with tempfile.TemporaryDirectory() as tmp:
        yield "sqlite", f"sqlite:///{Path(tmp) / name}"
    if pg:
        with scratch_schema(pg, "hl_bench") as url, raised(url) as served:
            yield "postgresql", served


def sized_runs(args: argparse.Namespace) -> Iterator[tuple[int, str, str]]:
    """(size, label, URL) for each of `args.calls` (comma-separated) on each database of
    `databases(args.pg)`, the process raised first when `args.realtime`."""
    if args.realtime:
        realtime()
    for calls in (int(c) for c in args.calls.split(",")):
        for label, url in databases(args.pg):
            yield calls, label, url


@contextlib.contextmanager
def raised(url: str) -> Iterator[str]:
    """`url` as is; after `realtime()`, named so that its backends are raised to SCHED_FIFO
    while the block runs."""
    if not _realtime:
        yield url
        return
    stop = threading.Event()
    watcher = threading.Thread(target=_raise_backends, args=(url, stop), daemon=True)
    watcher.start()
    try:
        yield make_url(url).update_query_dict({"application_name": APP_NAME}).render_as_string(hide_password=False)
    finally:
        stop.set()
        watcher.join(5)


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


def seed_day(url: str, calls: int, queue: str, timezone: str) -> None:
    """`calls` finished calls of today (every 3rd abandoned), spread from local midnight to now."""
    now = datetime.now(UTC)
    start = day_start(now, timezone)
    step = (now - start) / max(calls, 1)
    rows = []
    for n in range(calls):
        at, answered = start + n * step, n % 3 != 0
        rows.append({"site": DEFAULT_SITE, "linkedid": f"16{n:08d}.{n}", "queue": queue, "entered_at": at,
                     "answered_at": at + timedelta(seconds=12) if answered else None,
                     "ended_at": at + timedelta(seconds=12 + (180 if answered else 0)),
                     "wait_seconds": 12.0, "talk_seconds": 180.0 if answered else None,
                     "outcome": "answered" if answered else "abandoned", "caller_number": f"+4930{n:07d}"})
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(CallRecord), rows)
    engine.dispose()
