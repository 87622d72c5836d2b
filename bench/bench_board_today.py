"""The sites' board's read of today's figures: a full read and count against the incremental one.

Run: .venv/bin/python bench/bench_board_today.py [--calls 900,10000] [--written 0,30,300]
     [--reads 20] [--pg postgresql+psycopg://user@host/db]
Every instance reads today's calls per site every 5 s (agent_console.site_board). For each
size, the day's call records (three sites, one queue, every 3rd answered) go in through
Core executemany (the trigger of migration 0026 stamps them); then, --reads times each:
the full read and count (`day_figures(finished_by_site(...))`, what the board did on every
read before the incremental read), and the incremental one (`FinishedToday` after its
first read: the records written since, counted into running tallies) with --written
records written between two reads (half new, half updated: 0 is a quiet desk, 300 three
sites at 20 calls/s for 5 s). Each read's figures are checked against the full one's.
Prints the median and max ms.
SQLite is a fresh migrated file in a temp dir; PostgreSQL gets a throwaway schema.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callqueue.sites import day_figures  # noqa: E402

from bench._db import batches, migrated_engine, parser, sized_runs  # noqa: E402
from tickets.db import session_factory  # noqa: E402
from tickets.models import CallRecord  # noqa: E402
from tickets.reports import FinishedToday, finished_by_site  # noqa: E402

START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
NOW = START + timedelta(hours=23)
END = NOW + timedelta(minutes=1)


def row(n: int, at: datetime) -> dict[str, object]:
    answered = n % 3 == 0
    return {"site": "abc"[n % 3], "linkedid": f"17{n:08d}.{n}", "queue": "hotline", "entered_at": at,
            "answered_at": at + timedelta(seconds=20) if answered else None, "ended_at": at + timedelta(seconds=200),
            "wait_seconds": 20.0, "talk_seconds": 180.0 if answered else None,
            "outcome": "answered" if answered else "abandoned", "caller_number": f"+4930{n:07d}"}


def run(label: str, url: str, calls: int, written: list[int], reads: int) -> None:
    engine = migrated_engine(url)
    step = (NOW - START) / max(calls, 1)
    with engine.begin() as conn:
        for batch in batches((row(n, START + n * step) for n in range(calls)), 5_000):
            conn.execute(insert(CallRecord), batch)
    sessions = session_factory(engine)
    finished_by_site(sessions, START, END, "hotline")  # the pool's first connection, not timed
    board = FinishedToday(sessions, lambda: END, "hotline")
    t = time.perf_counter()
    board(START)
    first = (time.perf_counter() - t) * 1000
    n = calls
    for k in written:
        full_ms, since_ms = [], []
        for _ in range(reads):
            with engine.begin() as conn:  # not through the hooked sessions: the report marks are not timed here
                if k // 2:
                    conn.execute(insert(CallRecord), [row(n + i, NOW - timedelta(minutes=1)) for i in range(k // 2)])
                for i in range(k - k // 2):
                    conn.execute(update(CallRecord).where(CallRecord.linkedid == f"17{(n * 7 + i) % calls:08d}."
                                                          f"{(n * 7 + i) % calls}").values(wait_seconds=21.0 + n))
            n += k // 2 + 1
            t = time.perf_counter()
            full = day_figures(finished_by_site(sessions, START, END, "hotline"))
            full_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            got = board(START)
            since_ms.append((time.perf_counter() - t) * 1000)
            assert got == full, "the incremental figures differ from the full read's"
        print(f"{label:10s} {calls:>7,} calls today, {k:>4} written between reads: full read + count median "
              f"{statistics.median(full_ms):7.1f} ms (max {max(full_ms):7.1f}), incremental median "
              f"{statistics.median(since_ms):6.1f} ms (max {max(since_ms):6.1f}); its first read {first:.1f} ms; "
              f"{reads} reads, each equal to the full one")
    engine.dispose()


def main() -> int:
    ap = parser(__doc__)
    ap.add_argument("--calls", default="900,10000", help="today's call records, comma-separated sizes")
    ap.add_argument("--written", default="0,30,300", help="records written between two reads, comma-separated")
    ap.add_argument("--reads", type=int, default=20)
    args = ap.parse_args()
    for calls, label, url in sized_runs(args):
        run(label, url, calls, [int(k) for k in args.written.split(",")], args.reads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
