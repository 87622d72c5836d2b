"""The timed escalation scan as `hotline serve` runs it (HOTLINE_WRITER_PROCESS, the
default): in a process of its own, started again when it dies; the tickets it moves reach
the bus as in a thread."""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta

from agent_console.escalation_job import EscalationJob
from agent_console.hub import Hub
from cti.bus import EventBus
from tests.db_fixture import Sessions
from tests.tickets.test_escalation import NOTICES, POLICY, T0, escalated_tickets
from tickets import escalation_process
from tickets.desk import TicketDesk
from tickets.escalation import Escalator, ScanResult
from tickets.escalation_process import EscalatorConfig
from tickets.events import TicketUpdated


async def test_the_scan_in_its_process_moves_tickets_and_survives_the_process_dying(
        sessions: Sessions, database_url: str) -> None:
    desk = TicketDesk(sessions, POLICY)
    [first] = escalated_tickets(sessions, desk, 1)
    bus, moved = EventBus(), []
    bus.subscribe(TicketUpdated, lambda e: moved.append(e.id))
    pool = escalation_process.executor(EscalatorConfig(database_url, POLICY, NOTICES))
    now = [T0 + timedelta(days=3)]
    job = EscalationJob(Escalator(sessions, POLICY, NOTICES), bus, Hub(), lambda: now[0], 0, pool)
    try:
        result = await job.scan()
        assert [t["id"] for t in result.escalated] == [first] and first in moved
        pid = await asyncio.to_thread(lambda: pool.submit(os.getpid).result())
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)  # the OOM killer, say
        [second] = escalated_tickets(sessions, desk, 1)
        now[0] += timedelta(days=3)
        result = ScanResult()
        for _ in range(2):  # a scan sent before the pool saw its process die fails; the next runs in a new one
            try:
                result = await job.scan()
                break
            except BrokenProcessPool:
                continue
        assert [t["id"] for t in result.escalated] == [second] and second in moved
        assert pool.respawns == 1
    finally:
        await job.close()
