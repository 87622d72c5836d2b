"""DbWriter: database writes off the event loop, in order, nothing lost.

Layer: I/O shell. One worker (a thread, or with `executor=` a separate process,
see writer_process.py) runs the sync service calls; the loop only enqueues.
When the database is unavailable, or the writer's process died (a new one is
started, tickets.worker_process), the update stays at the head of the queue and
is retried with capped backoff until it lands (writing an update again is harmless:
its writes are idempotent).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sqlalchemy.exc import OperationalError

from tickets.worker_process import run_in

log = logging.getLogger(__name__)
# The writer thread runs SQLAlchemy (pure Python) while the loop serves AMI and
# WebSockets; with Python's default 5 ms GIL switch interval the loop waited up to
# that long (and more) for the GIL. `hotline serve` sets 1 ms (bench/bench_writes.py).
GIL_SWITCH_INTERVAL = 0.001


class RetryLater(Exception):
    """The database is unavailable; raised by a worker process instead of
    OperationalError, which does not always survive pickling."""


def _ready() -> bool:
    """A no-op for the worker (module level, so a process pool can pickle it)."""
    return True


class DbWriter:
    def __init__(self, work: Callable[[Any], Any], on_result: Callable[[Any], Any] | None = None,
                 backoff_max: float = 5.0, executor: concurrent.futures.Executor | None = None) -> None:
        self._work, self._on_result, self.backoff_max = work, on_result, backoff_max
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pool = executor or concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.retries = 0

    def submit(self, item: Any) -> None:
        self._queue.put_nowait(item)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    @property
    def restarts(self) -> int:
        """How often the writer's process died and was started again (tickets.worker_process)."""
        return int(getattr(self._pool, "respawns", 0))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="db-writer")

    async def drain(self) -> None:
        await self._queue.join()

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        # joining a process pool's worker takes ~0.1 s: not on the loop
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        # A process pool starts its worker on the first submit, inside submit():
        # spawning Python took ~100 ms, which on the loop would hold up the first
        # answered call's pop. Start it from a helper thread before the first item.
        await asyncio.to_thread(run_in, self._pool, _ready)
        while True:
            item = await self._queue.get()
            delay = 0.1
            while True:
                try:
                    result = await loop.run_in_executor(self._pool, self._work, item)
                    break
                except (OperationalError, RetryLater, BrokenProcessPool) as exc:
                    self.retries += 1
                    died = isinstance(exc, BrokenProcessPool)  # the writer's process died: a new one writes it again
                    if died:
                        log.error("the writer process died writing %r (%s); writing it again in %.1f s",
                                  item, exc, delay)
                    else:
                        reason = exc.orig if isinstance(exc, OperationalError) else exc
                        log.warning("database unavailable (%s); retrying in %.1f s", reason, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.backoff_max)
                    if died:
                        with contextlib.suppress(BrokenProcessPool):  # the new process started off the loop
                            await asyncio.to_thread(run_in, self._pool, _ready)
                except Exception:  # a bad row must not stop every later write
                    log.exception("database write failed for %r; skipped", item)
                    result = None
                    break
            self.written += 1
            self._queue.task_done()
            if result is not None and self._on_result is not None:
                outcome = self._on_result(result)
                if asyncio.iscoroutine(outcome):
                    await outcome
