"""The report aggregates' catch-up as `hotline serve` runs it (HOTLINE_WRITER_PROCESS, the
default): in a process of its own, so its re-aggregation of the day never holds the event
loop's GIL; the figures it writes are the ones a thread would write."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from agent_console.assembly import aggregates_of
from agent_console.http_reports import settings_rules
from agent_console.jobs import Jobs
from agent_console.settings import Settings
from cti.bus import EventBus
from tests.db_fixture import Sessions
from tests.factories import answered_call, marks_left
from tests.waiting import wait_until
from tickets import report_agg_store
from tickets.calls_service import TicketService
from tickets.report_agg_models import ReportAgg
from tickets.worker_process import Respawning


def _answered(sessions: Sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.coalesce(func.sum(ReportAgg.answered), 0)).where(ReportAgg.dim == "")) or 0


async def test_the_jobs_catch_up_in_a_process_of_their_own(sessions: Sessions, database_url: str) -> None:
    settings = Settings(database_url=database_url, session_secret=SecretStr("x" * 32),
                        ami_enabled=False)
    assert settings.writer_process  # the default
    catch_up, where = aggregates_of(settings, sessions)
    assert catch_up is not None and isinstance(where, Respawning)
    now = datetime.now(UTC)
    with sessions.begin() as s:  # built: the jobs' first catch-up re-aggregates the dirty hours
        report_agg_store.rebuild(s, settings_rules(settings), settings.timezone, now)
    before = _answered(sessions)
    for update in answered_call("+4930555000111"):  # written as the writer writes it: its hour marked
        TicketService(sessions).handle(update)
    assert marks_left(sessions) >= 1
    none = cast(Any, None)  # the writer and feed: not used by this job
    jobs = Jobs(EventBus(), sessions, none, none, lambda: now, None, None, 0, catch_up, where)
    jobs.start()
    try:
        await asyncio.to_thread(wait_until, lambda: marks_left(sessions) == 0 and _answered(sessions) == before + 1, 60)
        assert await asyncio.to_thread(lambda: where.submit(os.getpid).result()) != os.getpid()
    finally:
        await jobs.close()
    with pytest.raises(RuntimeError):  # shut down with the jobs: no process left behind
        where.submit(os.getpid)
