"""TaskSet: named background tasks kept in a set until they end.

Layer: infrastructure (asyncio only). Must not import from the rest of the project.

asyncio keeps only a weak reference to a task: one nobody holds may be
garbage-collected mid-flight. Every long-lived or fire-and-forget task in
hotline is therefore started through a TaskSet, which names it (so a stuck one
shows up by name in a task dump) and holds it until it is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class TaskSet:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start `coro` as a task named `name` on the running loop and keep it until it ends."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def stop(self, within: float | None = None) -> None:
        """Cancel every task and wait for them to end (at most `within` seconds)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        done, _ = await asyncio.wait(tasks, timeout=within)
        for task in done:  # retrieve what they ended with: nobody else will
            if not task.cancelled():
                task.exception()
