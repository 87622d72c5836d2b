"""WorkQueue: one task works items in order; an item that has to wait is parked, with
whatever comes for the same key behind it, and everything else goes on.

Layer: I/O shell helper (asyncio only; no hub, no bus), for agent_console.notifier:
a ring waits for its caller's match, an answer for the history, a ticket edit for who
may see it. Until 2026-12-04 the notifier's task awaited those itself, so under load
(20 calls/s, the lookups' threads sharing the GIL with the loop) each answered call held
every other call's pop up to a second, and pops came seconds late (bench/RESULTS.md).

`wait_of(item)` says whether an item has to wait: None, or (the item to handle once
the wait is over, the future it waits for, the most seconds it waits). A parked key's
later items queue behind it and are each asked again when their turn comes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cti.tasks import TaskSet

T = TypeVar("T")
Wait = tuple[T, "asyncio.Future[Any]", float]


@dataclass(frozen=True, slots=True)
class _Resume:
    """A parked key's wait is over (what it waited for came, or its time ran out)."""

    key: str


class WorkQueue(Generic[T]):
    def __init__(self, handle: Callable[[T], Awaitable[None]], key_of: Callable[[T], str | None],
                 wait_of: Callable[[T], Wait[T] | None], after_each: Callable[[], None],
                 on_error: Callable[[object], None], name: str) -> None:
        """`after_each` runs after every item taken from the queue; `on_error(item)` when
        handling it raised (it is logged there; the queue goes on)."""
        self._handle, self._key_of, self._wait_of = handle, key_of, wait_of
        self._after_each, self._on_error, self.name = after_each, on_error, name
        self._items: asyncio.Queue[T | _Resume] = asyncio.Queue()
        self._parked: dict[str, deque[T]] = {}
        self._unparked = asyncio.Event()  # set while nothing is parked
        self._unparked.set()
        self._tasks = TaskSet()

    def put_nowait(self, item: T) -> None:
        self._items.put_nowait(item)

    def empty(self) -> bool:
        """Nothing queued (parked items aside)."""
        return self._items.empty()

    @property
    def parked(self) -> frozenset[str]:
        return frozenset(self._parked)

    def start(self) -> None:
        self._tasks.spawn(self._run(), self.name)

    async def stop(self) -> None:
        await self._tasks.stop()

    async def caught_up(self) -> None:
        """Until nothing put so far waits to be handled, parked items aside (they wait for
        something else, not for this queue's task)."""
        await self._items.join()

    async def drain(self) -> None:
        """Until everything put so far has been handled, parked items too."""
        while True:
            await self._items.join()
            if not self._parked:
                return
            await self._unparked.wait()

    async def _run(self) -> None:
        while True:
            item = await self._items.get()
            try:
                if isinstance(item, _Resume):
                    await self._resume(item.key)
                else:
                    await self._work(item)
            except Exception:  # the queue goes on, whatever one item did
                self._on_error(item)
            finally:
                self._after_each()
                self._items.task_done()

    async def _work(self, item: T) -> None:
        key = self._key_of(item)
        if key is not None and key in self._parked:
            self._parked[key].append(item)
        elif key is None or not self._park(key, deque([item])):
            await self._safely(item)

    def _park(self, key: str, items: deque[T]) -> bool:
        """Park `items` if the first has to wait; True if they were. A `wait_of` that
        fails is said (`on_error`) and the item goes without waiting."""
        try:
            wait = self._wait_of(items[0])
        except Exception:
            self._on_error(items[0])
            return False
        if wait is None:
            return False
        items[0], until, timeout = wait
        self._parked[key] = items
        self._unparked.clear()
        self._tasks.spawn(self._wake(key, until, timeout), f"{self.name}-wait-{key}")
        return True

    async def _wake(self, key: str, until: asyncio.Future[Any], timeout: float) -> None:
        await asyncio.wait({until}, timeout=timeout)
        self._items.put_nowait(_Resume(key))

    async def _resume(self, key: str) -> None:
        """The parked item now goes (its wait is over), then what queued behind it,
        unless one of those has to wait in its turn."""
        items = self._parked.pop(key, deque())
        first = True
        while items:
            if not first and self._park(key, items):
                return
            first = False
            await self._safely(items.popleft())
        if not self._parked:
            self._unparked.set()

    async def _safely(self, item: T) -> None:
        try:
            await self._handle(item)
        except Exception:
            self._on_error(item)
