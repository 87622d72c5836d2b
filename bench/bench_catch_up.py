"""The report aggregates' catch-up as today's calls grow: what `hotline serve` does every minute.

Run: .venv/bin/python bench/bench_catch_up.py [--calls 1500,6000,15000] [--repeat 3]
     [--pg postgresql+psycopg://user@host/db]
While calls are written, every call's hour is marked dirty, and once a minute serve's jobs
(agent_console.jobs, on a worker thread of serve's process, sharing the GIL with the event
loop) run `tickets.report_agg_store.catch_up`, which re-aggregates the whole local day of
every dirty hour. For each size, today's call records (`bench._db.seed_day`: every 3rd abandoned, no
tickets: a desk's tickets would add their own rows to read) go in through Core executemany, the
aggregates are built once, then --repeat times: one hour of today marked dirty, `catch_up`
timed (wall and this process's CPU). Prints ms per catch-up; asserts nothing about speed.
SQLite is a fresh migrated file in a temp dir; PostgreSQL gets a throwaway schema.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import migrated_engine, parser, seed_day, sized_runs  # noqa: E402
from tickets import report_agg_store  # noqa: E402
from tickets.db import session_factory  # noqa: E402
from tickets.report_agg_models import ReportAggMark  # noqa: E402
from tickets.report_facts import FcrRule  # noqa: E402
from tickets.report_figures import ReportRules  # noqa: E402

TZ = "Europe/Berlin"
RULES = ReportRules(threshold=25, short_abandon=5, fcr=FcrRule(days=7))


def run(label: str, url: str, calls: int, repeat: int) -> None:
    engine = migrated_engine(url)
    seed_day(url, calls, "hotline", TZ)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    report_agg_store.catch_up(sessions, RULES, TZ, now)  # the first call builds the aggregates: not timed
    hour = now.replace(minute=0, second=0, microsecond=0)
    wall, cpu = [], []
    for _ in range(repeat):
        with sessions.begin() as s:
            s.add(ReportAggMark(hour=hour))
        t, c = time.perf_counter(), time.process_time()
        cleared = report_agg_store.catch_up(sessions, RULES, TZ, datetime.now(UTC))
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        assert cleared == 1, f"the catch-up cleared {cleared} hours, not the one marked"
    print(f"{label:10s} {calls:>7,} calls today: catch-up of one dirty hour median {statistics.median(wall):7.1f} ms "
          f"wall (max {max(wall):7.1f}), {statistics.median(cpu):7.1f} ms CPU in this process; {repeat} runs")
    engine.dispose()


def main() -> int:
    ap = parser(__doc__)
    ap.add_argument("--calls", default="1500,6000,15000", help="today's call records, comma-separated sizes")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for calls, label, url in sized_runs(args):
        run(label, url, calls, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
