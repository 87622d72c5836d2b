"""The timed escalation loop: every HOTLINE_ESCALATION_EVERY_SECONDS, scan for level-2
tickets whose time is up and tickets past their contractual time; tell the consoles.

Layer: I/O shell. The scan is tickets.escalation.Escalator (sync): in a process of
its own (tickets.escalation_process, with HOTLINE_WRITER_PROCESS, the default) so a
burst never holds the event loop's GIL, else on a worker thread; it is safe on every
instance at once (compare-and-set per ticket), so every instance runs it and a
dead one is never missed. A moved ticket goes on the bus as TicketUpdated (the
consoles' `ticket.updated`; scaled out, Redis shares it with the other
instances); a task-force alarm is `ticket.taskforce` to supervisors only, and
its ticket's `taskforce_at` reaches every instance's wallboards with
`ticket.updated`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from agent_console.hub import SUPERVISORS_ONLY, Hub
from cti.bus import EventBus
from cti.tasks import TaskSet
from tickets import escalation_process
from tickets.escalation import Escalator, ScanResult
from tickets.events import TicketUpdated
from tickets.worker_process import run_in

log = logging.getLogger(__name__)


class EscalationJob:
    def __init__(self, escalator: Escalator, bus: EventBus, hub: Hub, clock: Callable[[], datetime],
                 every: float, executor: concurrent.futures.Executor | None = None) -> None:
        """`executor`: tickets.escalation_process's (the scan there); None: on a thread here."""
        self.escalator, self.bus, self.hub, self.clock, self.every = escalator, bus, hub, clock, every
        self.executor = executor
        self._tasks = TaskSet()
        self._inflight: asyncio.Future[ScanResult] | None = None  # the scan running on a thread or process
        self._wake = asyncio.Event()
        self.scans = 0

    def start(self) -> None:
        if self.every > 0:
            self._tasks.spawn(self._run(), "escalation-scan")

    def wake(self) -> None:
        """Scan now (tests, and after a change of targets)."""
        self._wake.set()

    async def close(self) -> None:
        """Stop the loop, then wait for a scan still running: it holds a database connection
        (the engine is disposed after this), and its steps are committed or not, never half."""
        await self._tasks.stop()
        if self._inflight is not None and not self._inflight.done():
            with contextlib.suppress(Exception):
                await self._inflight
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)

    async def scan(self) -> ScanResult:
        loop = asyncio.get_running_loop()
        if self.executor is not None:  # submitted from a thread: a process pool spawns its process in submit
            self._inflight = asyncio.ensure_future(asyncio.to_thread(run_in, self.executor, escalation_process.scan,
                                                                     self.clock()))
        else:
            self._inflight = loop.run_in_executor(None, self.escalator.scan, self.clock())
        result = await asyncio.shield(self._inflight)  # a cancelled loop leaves the scan to close()
        for ticket in result.escalated:
            await self.bus.publish(TicketUpdated.of(ticket))
            await asyncio.sleep(0)  # a burst of thousands gives the loop back between tickets
        for alarm in result.alarms:
            self.hub.publish("ticket.taskforce", alarm, SUPERVISORS_ONLY)
            await self.bus.publish(TicketUpdated.of(alarm["ticket"]))
            await asyncio.sleep(0)
        self.scans += 1
        if result.escalated or result.alarms:
            log.info("escalation scan: %d ticket(s) moved to level 3, %d task-force alarm(s)",
                     len(result.escalated), len(result.alarms))
        return result

    async def _run(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception:
                log.exception("escalation scan failed; trying again in %s s", self.every)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.every)
            except TimeoutError:
                pass
