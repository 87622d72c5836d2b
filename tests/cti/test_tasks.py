"""TaskSet keeps named tasks until they end and stops them all."""

from __future__ import annotations

import asyncio

from cti.tasks import TaskSet


async def test_tasks_are_named_kept_until_done_and_stopped() -> None:
    tasks = TaskSet()
    gate = asyncio.Event()

    async def quick() -> int:
        return 1

    async def waits() -> None:
        await gate.wait()

    first = tasks.spawn(quick(), "quick")
    second = tasks.spawn(waits(), "waits")
    assert {t.get_name() for t in tasks} == {"quick", "waits"}
    assert await first == 1
    await asyncio.sleep(0)  # the done callback runs on the next turn
    assert len(tasks) == 1 and list(tasks) == [second]
    await tasks.stop(within=1.0)
    assert second.cancelled() and len(tasks) == 0


async def test_stop_retrieves_a_failed_tasks_exception() -> None:
    tasks = TaskSet()
    started = asyncio.Event()

    async def fails() -> None:
        started.set()
        raise RuntimeError("boom")

    failed = tasks.spawn(fails(), "fails")
    await started.wait()
    await tasks.stop(within=1.0)
    assert failed.done() and isinstance(failed.exception(), RuntimeError)
