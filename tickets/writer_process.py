"""The ticket writer in a process of its own.

Layer: I/O shell. SQLAlchemy is pure Python: run on a thread of the server's
process it competed with the event loop for the GIL, and the loop (AMI reader,
WebSockets) was held off for up to tens of milliseconds under load
(bench/bench_writes.py). In its own process it cannot hold the loop at all.
The process builds its own TicketService from plain, picklable settings; events
and results cross as frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from cti.events import CallUpdated
from tickets.calls_service import TicketService
from tickets.db import make_engine, session_factory
from tickets.events import TicketCreated
from tickets.outbox import NoticeConfig
from tickets.sites import DEFAULT_SITE
from tickets.sla import SlaPolicy
from tickets.worker_process import Respawning, detach
from tickets.writer import RetryLater

_service: TicketService | None = None


@dataclass(frozen=True, slots=True)
class WriterConfig:
    database_url: str
    policy: SlaPolicy | None
    callback_window: timedelta
    short_abandon_seconds: float
    notices: NoticeConfig | None = None  # queue a "ticket created" mail for the caller
    site: str = DEFAULT_SITE  # the bridge's site: what it writes is this site's


def _init(config: WriterConfig) -> None:
    global _service  # one per worker process: the process is the unit of state here
    detach()
    _service = TicketService(session_factory(make_engine(config.database_url)), policy=config.policy,
                             callback_window=config.callback_window,
                             short_abandon_seconds=config.short_abandon_seconds, notices=config.notices,
                             site=config.site)


def handle(update: CallUpdated) -> TicketCreated | None:
    assert _service is not None, "writer process not initialised"
    try:
        return _service.handle(update)
    except OperationalError as exc:
        raise RetryLater(str(exc.orig)) from None


def executor(config: WriterConfig) -> Respawning:
    return Respawning("writer", _init, (config,))
