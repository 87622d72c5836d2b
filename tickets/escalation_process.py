"""The timed escalation scan in a process of its own.

Layer: I/O shell. The scan is SQLAlchemy (pure Python): on a thread of the server's
process a burst (hundreds of tickets falling due at once, or catching up after a
restart) competed with the event loop for the GIL and held it off for tens of
milliseconds (bench/bench_escalation.py), as the writer did (tickets.writer_process).
In its own process it cannot hold the loop at all. The process builds its own
Escalator from plain, picklable settings; the result comes back as a ScanResult.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tickets.db import make_engine, session_factory
from tickets.escalation import Escalator, ScanResult
from tickets.outbox import NoticeConfig
from tickets.sla import SlaPolicy
from tickets.worker_process import Respawning, detach

_escalator: Escalator | None = None


@dataclass(frozen=True, slots=True)
class EscalatorConfig:
    database_url: str
    policy: SlaPolicy
    notices: NoticeConfig | None
    alarm_to: tuple[str, ...] = ()


def _init(config: EscalatorConfig) -> None:
    global _escalator  # one per worker process: the process is the unit of state here
    detach()
    _escalator = Escalator(session_factory(make_engine(config.database_url)), config.policy, config.notices,
                           config.alarm_to)


def scan(now: datetime) -> ScanResult:
    assert _escalator is not None, "escalation process not initialised"
    return _escalator.scan(now)


def executor(config: EscalatorConfig) -> Respawning:
    return Respawning("escalation scan", _init, (config,))
