"""The wallboard's queue view at the end of a busy day: QueueProjection.view() with N finished calls today.

Run: .venv/bin/python bench/bench_queue_view.py [--calls 15000] [--views 50]
The projection gets N finished calls of today (every 3rd abandoned, as the feed seeds
them from the database at start-up), then --views views are timed. Every wallboard
push, sites-board recomputation (twice a second) and IVR forecast takes one, on the
event loop. Prints the mean and max ms per view; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "queue"))

from callqueue.live import QueueProjection  # noqa: E402
from callqueue.metrics import FinishedCall  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--calls", type=int, default=15_000)
    p.add_argument("--views", type=int, default=50)
    args = p.parse_args()
    start = datetime(2026, 12, 2, tzinfo=UTC)
    projection = QueueProjection(day_start=start)
    for n in range(args.calls):
        answered = n % 3 != 0
        projection.load_finished("hotline", start + timedelta(seconds=n),
                                 FinishedCall("answered" if answered else "abandoned", 12.0, 180.0, answered))
    now = start + timedelta(hours=20)
    assert projection.view("hotline", now).today.offered == args.calls
    times = []
    for _ in range(args.views):
        t = time.perf_counter()
        projection.view("hotline", now)
        times.append((time.perf_counter() - t) * 1000)
    print(f"QueueProjection.view() with {args.calls:,} finished calls today: mean {sum(times) / len(times):.3f} ms, "
          f"max {max(times):.3f} ms ({args.views} views)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
