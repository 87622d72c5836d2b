"""The order in which `hotline serve` starts its parts, and stops them in reverse.

Layer: edge (lifecycle only). agent_console.app builds the parts; this module
starts them: today's finished calls into the queue feed first (so the wallboard's
figures are right from the first snapshot), then the writer, the pushers, the
sampler, the link to other instances, the AMI bridge, FastAGI, the jobs, the mail
listener, the sender of callers' mails and the fax spool reader. Stopping drains
the writer before the database is closed, so nothing queued is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from agent_console.agi_routes import AgiService
from agent_console.escalation_job import EscalationJob
from agent_console.fax_in import FaxSpool
from agent_console.jobs import Jobs
from agent_console.mail_in import MailListener
from agent_console.mail_out import OutboxSender
from agent_console.services import Services
from cti.bridge import AmiBridge
from cti.tasks import TaskSet
from tickets.reports import finished_calls


@dataclass
class Running:
    """What the lifespan starts, in this order, and stops in reverse."""

    services: Services
    bridge: AmiBridge | None
    jobs: Jobs
    agi: AgiService | None = None  # FastAGI, beside the bridge (after it: routes are noted in its registry)
    mail: MailListener | None = None  # HOTLINE_MAIL_LISTEN, bridge instance
    sender: OutboxSender | None = None  # HOTLINE_SMTP_URL, bridge instance
    escalation: EscalationJob | None = None  # the timed scan (every instance: it is compare-and-set)
    fax: FaxSpool | None = None  # HOTLINE_FAX_SPOOL, bridge instance
    tasks: TaskSet = field(default_factory=TaskSet)

    async def start(self) -> None:
        s = self.services
        today = await asyncio.to_thread(finished_calls, s.desk.sessions, s.queue_feed.today_starts(), s.clock(),
                                        site=s.settings.site)  # this site's own figures (the board sums the sites)
        s.queue_feed.load_today(today)
        s.writer.start()
        s.notifier.start()
        s.wallboard.start()
        if s.site_board:
            s.site_board.start()
        self.tasks.spawn(s.queue_feed.run(), "queue-sampler")
        if s.bus_link:
            s.bus_link.start()
        if self.bridge:
            self.bridge.start()
        if self.agi:
            await self.agi.start()
        self.jobs.start()
        if self.mail:
            await self.mail.start()
        if self.sender:
            self.sender.start()
        if self.escalation:
            self.escalation.start()
        if self.fax:
            self.fax.start()
        if s.gc:
            s.gc.start()

    async def stop(self) -> None:
        s = self.services
        # the optional parts in reverse of their start; None: not configured here
        for part in (s.gc, self.escalation, self.fax, self.sender, self.mail, self.jobs, self.agi, self.bridge,
                     s.bus_link):
            if part is not None:
                await part.close()
        await self.tasks.stop()
        await s.wallboard.close()
        if s.site_board:
            await s.site_board.close()
        await s.notifier.close()
        await s.writer.drain()
        await s.writer.close()
        s.login.close()
        await _drain_threads()
        s.close_database()


DRAIN_SECONDS = 5.0


async def _drain_threads() -> None:
    """Let database work still running on the loop's default executor (a route's or a
    pop's `asyncio.to_thread` whose awaiting task is gone: cancelling a task does not
    stop its thread) finish before the engines are disposed. A connection such a thread
    returns to an already disposed pool is never closed; it would be dropped open.
    Bounded: a query stuck on an unreachable database does not hold the shutdown."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(TimeoutError, RuntimeError):
        await asyncio.wait_for(asyncio.shield(loop.shutdown_default_executor()), DRAIN_SECONDS)
