"""QuietCollector: the garbage collector's full passes at a quiet moment, not in a burst.

Layer: I/O shell helper (asyncio and the `gc` module; nothing of the app). CPython starts
a full (generation 2) collection when enough objects have survived the younger ones, that
is while the process allocates: in the middle of a burst of rings. With a busy day's
records held (15,000 calls) a full pass took 33 ms at the median and 85 ms at worst on
2 CPUs, and one that fell into a burst held every pop of it that long (bench/RESULTS.md).

While running, this takes the full passes out of Python's schedule (generation 2's
threshold out of reach; the young generations, under 1 ms each, stay automatic) and
makes one every `every` seconds at the first quiet moment: `activity()` (the bus's count
of events) unchanged for `quiet` seconds. Under load that never rests it collects
anyway `longest` seconds later, so cyclic garbage waits at most `every + longest`
seconds. Closing gives Python its schedule back. /metrics shows its passes. Python offers no "collect when idle"
of its own; gc.freeze() (done by `hotline serve` after building the app) only covers
what exists at start-up, not the records a day accumulates.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

from cti.tasks import TaskSet

log = logging.getLogger(__name__)

FULL_EVERY = 60.0  # seconds between full passes (`hotline serve`; HOTLINE_GC_FULL_EVERY)
QUIET = 0.05  # seconds without an event that count as quiet
LONGEST = 30.0  # seconds a due pass waits for quiet at most
_OUT_OF_REACH = 1 << 30  # generation 2's threshold while this runs


class QuietCollector:
    def __init__(self, activity: Callable[[], int], every: float = FULL_EVERY, quiet: float = QUIET,
                 longest: float = LONGEST, collect: Callable[[int], int] = gc.collect) -> None:
        self.activity, self.every, self.quiet, self.longest, self._collect = activity, every, quiet, longest, collect
        self.passes = 0  # full passes made
        self.forced = 0  # of them: no quiet moment within `longest`
        self.longest_pause_ms = 0.0
        self._saved: tuple[int, int, int] | None = None
        self._tasks = TaskSet()

    def start(self) -> None:
        t0, t1, t2 = gc.get_threshold()
        self._saved = (t0, t1, t2)
        gc.set_threshold(t0, t1, _OUT_OF_REACH)
        self._tasks.spawn(self._run(), "gc-full-passes")

    async def close(self) -> None:
        await self._tasks.stop()
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            quiet = await self._quiet_moment()
            self.collect_now(forced=not quiet)

    async def _quiet_moment(self) -> bool:
        """Until nothing happened for `quiet` seconds (True) or `longest` passed (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.longest
        seen = self.activity()
        while loop.time() < deadline:
            await asyncio.sleep(self.quiet)
            now = self.activity()
            if now == seen:
                return True
            seen = now
        return False

    def collect_now(self, forced: bool = False) -> None:
        t = time.perf_counter()
        self._collect(2)
        pause = (time.perf_counter() - t) * 1000
        self.passes += 1
        self.forced += forced
        self.longest_pause_ms = max(self.longest_pause_ms, pause)
        log.debug("full garbage collection: %.1f ms%s", pause, " (no quiet moment)" if forced else "")
