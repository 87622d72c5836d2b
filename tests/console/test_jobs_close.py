"""Jobs.close() waits for a job already running on a worker thread: an instance that has
stopped writes nothing afterwards (a report catch-up finishing after a stop raced the
next start's own writes)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any, cast

from agent_console.jobs import Jobs
from cti.bus import EventBus

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def test_close_waits_for_the_aggregates_job_running_on_its_thread() -> None:
    started, release, finished = threading.Event(), threading.Event(), []

    def catch_up(_now: datetime) -> int:
        started.set()
        release.wait(10)
        finished.append(True)
        return 0

    none = cast(Any, None)  # the database, writer and feed: not used by this job
    jobs = Jobs(EventBus(), none, none, none, lambda: T0, None, None, 0, catch_up)
    jobs.start()
    assert await asyncio.to_thread(started.wait, 10)
    closing = asyncio.ensure_future(jobs.close())
    done, _ = await asyncio.wait([closing], timeout=0.3)
    assert not done and not finished  # still waiting for the thread
    release.set()
    await closing
    assert finished == [True]
