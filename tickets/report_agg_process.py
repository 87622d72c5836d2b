"""The report aggregates' catch-up in a process of its own.

Layer: I/O shell. A catch-up re-aggregates every dirty hour's whole local day from the
raw rows (tickets.report_agg_store.catch_up); while calls come in that is all of today,
every AGGREGATES_EVERY seconds: ~35 µs a call of the day (bench/bench_catch_up.py:
0.2 s at 6,000 calls, 0.5 s at 15,000). On a thread of the server's process that
SQLAlchemy work competed with the event loop for the GIL (pops and the wallboard waited
behind it), as the writer and the escalation scan did (tickets.writer_process,
tickets.escalation_process); in its own process it cannot hold the loop at all. The
process builds its own session factory from plain, picklable settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from tickets import report_agg_store
from tickets.db import make_engine, session_factory
from tickets.report_figures import ReportRules
from tickets.worker_process import Respawning, detach

_sessions: sessionmaker[Session] | None = None
_config: AggregatesConfig | None = None


@dataclass(frozen=True, slots=True)
class AggregatesConfig:
    database_url: str
    rules: ReportRules
    tz: str


def _init(config: AggregatesConfig) -> None:
    global _sessions, _config  # one per worker process: the process is the unit of state here
    detach()
    _sessions, _config = session_factory(make_engine(config.database_url)), config


def catch_up(now: datetime) -> int:
    """tickets.report_agg_store.catch_up with this process's database and rules."""
    assert _sessions is not None and _config is not None, "aggregates process not initialised"
    return report_agg_store.catch_up(_sessions, _config.rules, _config.tz, now)


def executor(config: AggregatesConfig) -> Respawning:
    return Respawning("report aggregates", _init, (config,))
