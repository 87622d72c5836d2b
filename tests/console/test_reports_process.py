"""A report on the bridge instance, as `hotline serve` runs it (HOTLINE_WRITER_PROCESS, the
default): it brings the aggregates up to date in the aggregates' own process, not on a
thread of the server (a busy day's re-aggregation would hold the event loop's GIL)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from agent_console import jobs as jobs_module
from agent_console.settings import Settings
from tests.db_fixture import Sessions
from tests.factories import answered_call, marks_left
from tests.waiting import wait_until
from tickets import report_agg_store
from tickets.calls_service import TicketService
from tickets.db import make_engine, session_factory
from tickets.worker_process import Respawning


@pytest.fixture()
def settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The console's app with serve's worker processes; the jobs' catch-up runs once at start
    and not again during the test (a minutely one between the write and the report would
    clear the marks the report is to find)."""
    monkeypatch.setattr(jobs_module, "AGGREGATES_EVERY", 3600.0)
    return Settings(database_url=database_url, session_secret=SecretStr("x" * 32), ami_enabled=False,
                    login_rate_limit_per_minute=5)


def _built(sessions: Sessions) -> bool:
    with sessions() as s:
        return report_agg_store.meta(s) is not None


def test_a_report_catches_up_in_the_aggregates_process(app: Any, login: Any, settings: Settings) -> None:
    sven = login("sven")
    services, jobs = app.state.services, app.state.jobs
    assert isinstance(jobs.aggregates_in, Respawning) and services.report_catch_up is not None
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    wait_until(lambda: _built(sessions), 60)  # the jobs' first catch-up (in the process) built the aggregates
    calls: list[tuple[str, int]] = []
    real: Callable[[datetime], int] = services.report_catch_up

    def spied(at: datetime) -> int:
        cleared = real(at)
        calls.append((at.isoformat(), cleared))
        return cleared

    services.report_catch_up = spied
    now = datetime.now(UTC)
    # written as the writer writes it: its hour marked
    for update in answered_call("+4930555000222", entered_at=now - timedelta(minutes=5)):
        TicketService(sessions).handle(update)
    assert marks_left(sessions) >= 1
    week = sven.get(f"/api/reports/summary?period=week&date={now.astimezone(ZoneInfo(settings.timezone)).date()}")
    assert week.status_code == 200, week.text
    assert len(calls) == 1 and calls[0][1] >= 1 and marks_left(sessions) == 0  # caught up before the read
    assert week.json()["total"]["answered"] >= 1
    assert jobs.aggregates_in.submit(os.getpid).result() != os.getpid()  # there, not here
    engine.dispose()


def test_a_report_does_not_wait_for_a_busy_aggregates_process(app: Any, login: Any, settings: Settings) -> None:
    """The process busy (a long rebuild) beyond the report's wait: the report goes on, and
    the day still dirty is read from raw rows, so it shows the new call all the same."""
    sven = login("sven")
    services = app.state.services
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    wait_until(lambda: _built(sessions), 60)  # the jobs' first catch-up is over: none runs meanwhile
    asked: list[datetime] = []

    def busy(at: datetime) -> int:
        asked.append(at)
        raise TimeoutError  # as run_in's wait for the process's future ends

    services.report_catch_up = busy
    now = datetime.now(UTC)
    for update in answered_call("+4930555000333", entered_at=now - timedelta(minutes=5)):
        TicketService(sessions).handle(update)
    week = sven.get(f"/api/reports/summary?period=week&date={now.astimezone(ZoneInfo(settings.timezone)).date()}")
    assert week.status_code == 200, week.text
    assert len(asked) == 1 and marks_left(sessions) >= 1  # not caught up
    assert week.json()["total"]["answered"] >= 1
    engine.dispose()
