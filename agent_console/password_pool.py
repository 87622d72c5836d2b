"""Password checks (argon2) on threads of their own, with a cap on how many wait.

Layer: I/O shell (threads). Must not import FastAPI or tickets.

Why its own executor: argon2 costs tens of milliseconds of CPU and 64 MiB per
check on purpose. Run on AnyIO's shared thread pool (what `run_in_threadpool`
and every plain `def` route use), 48 concurrent failed logins took all its
threads and /healthz waited six seconds. Here at most `workers` checks run and
at most `queue` wait; anything beyond is refused at once (`PoolFull`, a 503), so
a login flood costs at most `workers` checks at a time and never a route's thread.

The threads run at a lower CPU priority (nice 10; on Linux nice is per thread,
and argon2's own helper threads inherit it): with parallelism 4 each check
starts four threads of its own, and at equal priority two checks on two cores
took the CPU from the event loop (/api/me waited over a second in a flood).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


NICE = 10


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):  # not Linux: same priority, still capped
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


class PoolFull(RuntimeError):
    """Every worker is busy and the wait queue is full."""


class PasswordPool:
    def __init__(self, workers: int, queue: int) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("login workers must be >= 1 and the login queue >= 0")
        self.workers, self.capacity = workers, workers + queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="password-check",
                                            initializer=_lower_priority)
        self._lock = threading.Lock()
        self._in_flight = 0  # submitted and not finished (running or waiting)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._in_flight >= self.capacity:
                raise PoolFull("password checks are busy; try again in a moment")
            self._in_flight += 1
        try:
            future = self._executor.submit(fn, *args)
        except RuntimeError:  # shut down
            self._done(None)
            raise
        # counted down when the work itself ends, not when the request gives up:
        # a cancelled login whose check still runs keeps its place
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)

    def _done(self, _future: Future[Any] | None) -> None:
        with self._lock:
            self._in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
