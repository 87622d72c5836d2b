"""A number that calls all day: what its next call costs the writer's report marks and a pop.

Run: .venv/bin/python bench/bench_busy_number.py [--calls 15000] [--pg postgresql+psycopg://user@host/db]
A switchboard presents one number for every caller behind it (bench_load.py's callers
share one too). Seeded: --calls answered calls of one number over the last hours, each
with its ticket. Timed, 50 times each (min and median printed):
- the FCR neighbours a new call of that number marks (tickets.report_agg_fcr.neighbours:
  the tickets whose first-contact resolution it can undo), and how many it reads;
- the pop's history of that caller (tickets.pop_history.histories: newest calls, callback items).
Both used to read every call of the number in the FCR days; now index seeks
(migration 0027). SQLite is a fresh migrated file; PostgreSQL a throwaway schema (ANALYZEd).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._db import batches, databases, migrated_engine, parser
from tickets import report_agg_fcr
from tickets.db import session_factory
from tickets.models import CallRecord, Ticket
from tickets.pop_history import histories

NUMBER = "+4934125380000"


def seed(url: str, calls: int, now: datetime) -> Any:
    engine = migrated_engine(url)
    start = now - timedelta(seconds=calls + 60)
    with engine.begin() as conn:
        for part in batches(range(calls), 5000):
            conn.execute(insert(Ticket), [{"number": f"B-{n}", "linkedid": f"1797.{n}", "site": "main", "subject": "s",
                                           "created_at": start + timedelta(seconds=n + 2),
                                           "updated_at": start + timedelta(seconds=n + 2)} for n in part])
            conn.execute(insert(CallRecord), [{"linkedid": f"1797.{n}", "site": "main", "caller_number": NUMBER,
                                               "entered_at": start + timedelta(seconds=n),
                                               "answered_at": start + timedelta(seconds=n + 2),
                                               "ended_at": start + timedelta(seconds=n + 5), "outcome": "answered"}
                                              for n in part])
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return engine


def timed(work: Callable[[], Any], times: int = 50) -> tuple[float, float, Any]:
    work()
    spans, result = [], None
    for _ in range(times):
        t0 = time.perf_counter()
        result = work()
        spans.append(time.perf_counter() - t0)
    spans.sort()
    return spans[0] * 1000, spans[len(spans) // 2] * 1000, result


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--calls", type=int, default=15_000)
    args = ap.parse_args()
    now = datetime.now(UTC)
    for label, url in databases(args.pg):
        engine = seed(url, args.calls, now)
        sessions = session_factory(engine)
        with engine.connect() as conn:
            lo, mid, found = timed(lambda: report_agg_fcr.neighbours(conn, [(None, NUMBER, now)], 7))
        print(f"{label:10s} {args.calls:,} calls of one number: FCR neighbours of its next call "
              f"{lo:.2f} ms min, {mid:.2f} ms median ({len(found)} tickets read)")
        lo, mid, _ = timed(lambda: histories(sessions, [], [NUMBER], [NUMBER], now))  # noqa: B023
        print(f"{'':10s} its pop's history (newest calls, callback items) {lo:.2f} ms min, {mid:.2f} ms median")
        engine.dispose()


if __name__ == "__main__":
    main()
