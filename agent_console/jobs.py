"""Background jobs of the bridge instance: catching up from queue_log, retention, and
re-aggregating the report figures of the hours writes marked dirty.

Layer: I/O shell. The logic lives in tickets.reconcile and tickets.retention
(sync, run on worker threads); here are only the loops and the moments they
run. Web-only instances run neither: writes belong to the one bridge instance.

Catching up runs at start-up (once the first resync has named the queue members,
or after RESYNC_WAIT without a PBX) and again after every later resync, i.e.
after every reconnect of the AMI link: AMI has no replay, so a call that started
and ended while the link was cut exists only in queue_log. Each run reads what
queue_log gained since the previous one and waits for the writer to finish what
it has, so a call is written once, from whichever side saw it. The callbacks'
results found there (hotline's CALLBACKRESULT lines) go to `callback_results`, the
callback dispatcher's `settle`: a result that came while the link was cut (or hotline
was restarting) settles its attempt instead of the caller being called a second time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from callqueue.feed import QueueFeed
from sqlalchemy.orm import Session, sessionmaker

from cti import events as ev
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.tasks import TaskSet
from tickets.reconcile import Reconciler
from tickets.retention import purge
from tickets.worker_process import run_in
from tickets.writer import DbWriter

log = logging.getLogger(__name__)
R = TypeVar("R")
RETENTION_EVERY = 3600.0  # seconds between purges
RESYNC_WAIT = 30.0  # seconds the first reconciliation waits for the PBX's member names
AGGREGATES_EVERY = 60.0  # seconds between re-aggregations of dirty report hours
THREAD_WAIT = 30.0  # seconds close() waits for a job's worker thread to finish its transaction


@dataclass
class Jobs:
    bus: EventBus
    sessions: sessionmaker[Session]
    writer: DbWriter
    feed: QueueFeed
    clock: Callable[[], datetime]
    bridge: AmiBridge | None
    reconciler: Reconciler | None  # None: HOTLINE_QUEUE_LOG not set
    retention_days: int
    aggregates: Callable[[datetime], int] | None = None  # re-aggregates dirty report hours (sync), how many
    aggregates_in: concurrent.futures.Executor | None = None  # where (tickets.report_agg_process's); None: a thread
    callback_results: Callable[[ev.CallbackDialed], Awaitable[None]] | None = None  # the dispatcher's settle

    def __post_init__(self) -> None:
        self._tasks = TaskSet()
        self._threads: set[asyncio.Future[Any]] = set()  # worker-thread calls not yet returned
        self._resynced = asyncio.Event()
        self.reconciled = 0  # calls recovered from queue_log so far
        self.runs = 0  # reconciliations done

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ev.ResyncCompleted, lambda _e: self._resynced.set())

    def start(self) -> None:
        if self.retention_days > 0:
            self._tasks.spawn(self._retention(), "retention")
        if self.reconciler is not None:
            self._tasks.spawn(self._reconcile_after_resyncs(), "reconcile")
        if self.aggregates is not None:
            self._tasks.spawn(self._aggregates(self.aggregates), "report aggregates")

    async def close(self) -> None:
        """Stop the loops, then wait for a job already running on a worker thread (a
        thread cannot be cancelled): nothing this instance started writes after it stopped."""
        await self._tasks.stop()
        running = list(self._threads)
        if running:
            _, late = await asyncio.wait(running, timeout=THREAD_WAIT)
            if late:
                log.warning("%d background job(s) still running after %.0f s; leaving them", len(late), THREAD_WAIT)
        if self.aggregates_in is not None:
            self.aggregates_in.shutdown(wait=False, cancel_futures=True)

    async def _off_loop(self, fn: Callable[..., R], *args: Any,
                        executor: concurrent.futures.Executor | None = None) -> R:
        """`fn(*args)` on a worker thread (or in `executor`, waited for on a worker thread: a
        process pool spawns its process inside the first submit, ~0.1 s the loop must not
        wait), known to close() until it returns."""
        future = asyncio.ensure_future(asyncio.to_thread(fn, *args) if executor is None
                                       else asyncio.to_thread(run_in, executor, fn, *args))
        self._threads.add(future)
        future.add_done_callback(_forget(self._threads))
        return await asyncio.shield(future)

    async def reconcile(self) -> int:
        """Calls that finished while hotline was not listening get their records and tickets
        now (from Asterisk's queue_log), through the same writer as live calls: exactly once."""
        r = self.reconciler
        if r is None:
            return 0
        if not await self._off_loop(r.path.exists):
            log.warning("HOTLINE_QUEUE_LOG %s does not exist; no reconciliation", r.path)
            return 0
        await self.writer.drain()  # what the bridge saw itself is written first
        registry_agents = self.bridge.registry.agent_list() if self.bridge else []
        members = {a.member_name: a.agent for a in registry_agents if a.member_name}
        missing = await self._off_loop(r.missing, self.clock(), members)
        for call in missing:
            for update in r.updates(call):
                self.writer.submit(update)  # not on the bus: no pops for calls long gone
                if update.change == ev.CallChange.ENDED:
                    self.feed.record(update)
        results = r.callback_results()
        if self.callback_results is not None:
            for result in results:
                await self.callback_results(result)
        self.runs += 1
        self.reconciled += len(missing)
        if missing:
            log.info("reconciled %d call(s) from %s that ended while hotline was not following the PBX",
                     len(missing), r.path)
        return len(missing)

    async def _reconcile_after_resyncs(self) -> None:
        """The first run waits for the first resync (it names each queue member, which
        queue_log uses for the agent) or RESYNC_WAIT s; then one run after every resync."""
        if self.bridge is None or self.bridge.resyncs == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._resynced.wait(), RESYNC_WAIT)
        while True:
            self._resynced.clear()
            try:
                await self.reconcile()
            except Exception:
                log.exception("reconciliation from queue_log failed; trying again after the next resync")
            await self._resynced.wait()

    async def _retention(self) -> None:
        """HOTLINE_RETENTION_DAYS > 0: purge old call records and callbacks hourly."""
        days = self.retention_days
        while True:
            try:
                done = await self._off_loop(purge, self.sessions, days, self.clock())
                if done.call_records or done.callbacks:
                    log.info("retention: purged %d call record(s), %d callback(s) older than %d days",
                             done.call_records, done.callbacks, days)
            except Exception:
                log.exception("retention purge failed; trying again in an hour")
            await asyncio.sleep(RETENTION_EVERY)

    async def _aggregates(self, catch_up: Callable[[datetime], int]) -> None:
        """Keep the report aggregates current (reports also catch up before reading)."""
        while True:
            try:
                while await self._off_loop(catch_up, self.clock(), executor=self.aggregates_in):
                    pass
            except Exception:
                log.exception("re-aggregating report figures failed; trying again in a minute")
            await asyncio.sleep(AGGREGATES_EVERY)


def _forget(running: set[asyncio.Future[Any]]) -> Callable[[asyncio.Future[Any]], None]:
    def done(future: asyncio.Future[Any]) -> None:
        running.discard(future)
        if not future.cancelled():
            future.exception()  # retrieved (no asyncio warning); the loop awaiting it logs a failure
    return done
