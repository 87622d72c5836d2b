"""One worker process for sync database work the event loop must not wait for (the
writer, the escalation scan, the report aggregates' catch-up), started again when it dies.

Layer: I/O shell. A ProcessPoolExecutor whose process died (killed by the OOM killer, or
by hand) is broken for good: every later submit raises BrokenProcessPool, so a writer
would have skipped every call after it. `Respawning` replaces the broken pool with a new
one at the next submit; the work that was running when the process died fails with
BrokenProcessPool, and its caller decides (the writer writes it again: its writes are
idempotent; a periodic job runs at its next turn). The process is started with `spawn`
(never fork a process that runs an event loop and threads), runs at a lower priority
than the server, and leaves when the server is gone.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
NICENESS = 5  # on a busy machine the event loop's process gets the CPU first


def detach() -> None:
    """In the worker process, first thing: yield the CPU to the server's event loop, leave
    with the server, and ignore Ctrl-C. A terminal's Ctrl-C reaches the whole process group:
    the workers printed a KeyboardInterrupt traceback each and the write in progress was cut,
    while the server stops them itself once it has drained what it holds."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    threading.Thread(target=_exit_with, args=(os.getppid(),), name="parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    """A killed server (SIGKILL: no shutdown) must not leave its worker behind, holding
    database connections: leave when the parent is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


class Respawning(concurrent.futures.Executor):
    """One worker process (`initializer(*initargs)` first, which should call `detach`),
    replaced by a new one at the first submit after it died."""

    def __init__(self, name: str, initializer: Callable[..., object], initargs: tuple[Any, ...]) -> None:
        self.name, self._initializer, self._initargs = name, initializer, initargs
        self._lock = threading.Lock()
        self._pool = self._new()
        self.respawns = 0

    def _new(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=self._initializer, initargs=self._initargs)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> concurrent.futures.Future[T]:
        with self._lock:
            try:
                return self._pool.submit(fn, *args, **kwargs)
            except BrokenProcessPool as exc:
                log.error("the %s process died (%s); starting a new one", self.name, exc)
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool, self.respawns = self._new(), self.respawns + 1
                return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._pool.shutdown(wait, cancel_futures=cancel_futures)


def run_in(executor: concurrent.futures.Executor, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
    """`fn(*args)` in `executor`, waited for here (a thread's way of calling a worker process);
    TimeoutError after `timeout` s (the work goes on there)."""
    return executor.submit(fn, *args).result(timeout)
