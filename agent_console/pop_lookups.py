"""PopLookups: a pop's customer data, in two phases on worker threads.

Layer: I/O shell (the enricher's database work runs on worker threads; no hub, no
bus). Used by agent_console.notifier, which owns the order of what agents see. Both
phases start when the caller joins the queue: the match and, once the match is there,
the history (open tickets, recent calls, the number's callback items). Each phase is
read for every caller waiting for it at once, on one worker thread (so a burst of 100
callers costs a few statements, not 100 lookups on threads that hold the GIL while the
loop rings the phones). When a phase is done it says so through `ready` (a
HistoryReady, or a MatchReady for a match that missed its ring), which the notifier
queues behind what the bus sent before it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from agent_console.pops import PopEnricher
from cti.tasks import TaskSet

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HistoryReady:
    """A pop's second phase is done (queued behind what the bus sent before it)."""

    linkedid: str


@dataclass(frozen=True, slots=True)
class MatchReady:
    """A match that missed its ring arrived (queued behind what the bus sent before it)."""

    linkedid: str


@dataclass(frozen=True, slots=True)
class Lookups:
    match: asyncio.Future[dict[str, Any]]
    history: asyncio.Task[dict[str, Any]]
    asked: float = 0.0  # loop time the match was asked for


def unavailable(number: str | None) -> dict[str, Any]:
    return {"status": "unknown", "number": number, "contact": None, "candidates": [],
            "error": "customer lookup unavailable"}


def _retrieved(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


A = TypeVar("A")
R = TypeVar("R")


class Batched(Generic[A, R]):
    """`read` (sync, on a worker thread) of everything asked for while the previous read
    ran, in one call: the first ask is read at once, the rest of a burst together next."""

    def __init__(self, read: Callable[[list[A]], list[R]], tasks: TaskSet, name: str) -> None:
        self._read, self._tasks, self._name = read, tasks, name
        self.waiting: dict[str, tuple[A, asyncio.Future[R]]] = {}  # key -> what to read, its result
        self.task: asyncio.Task[None] | None = None

    def ask(self, key: str, arg: A) -> asyncio.Future[R]:
        result: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self.waiting[key] = (arg, result)
        if self.task is None or self.task.done():
            self.task = self._tasks.spawn(self._run(), self._name)
        return result

    def forget(self, key: str) -> None:
        self.waiting.pop(key, None)

    async def _run(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, {}
            asked = [(arg, fut) for arg, fut in batch.values() if not fut.done()]
            if not asked:
                continue
            try:
                found = await asyncio.to_thread(self._read, [arg for arg, _ in asked])
            except Exception as exc:
                for _, fut in asked:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), one in zip(asked, found, strict=True):
                if not fut.done():
                    fut.set_result(one)


class PopLookups:
    def __init__(self, enricher: PopEnricher, ready: Callable[[HistoryReady | MatchReady], None]) -> None:
        self.enricher, self._ready = enricher, ready
        self._lookups: dict[str, Lookups] = {}  # linkedid -> the pop's customer data, both phases
        self.tasks = TaskSet()
        # linkedid -> the caller (raw caller ID) / its match. The enricher's methods are looked up
        # at each read: a test breaks the running app's match_pops (tests/console/test_ws.py)
        self.matches = Batched[str, dict[str, Any]](lambda raw: self.enricher.match_pops(raw), self.tasks,
                                                    "pop-matcher")
        self.histories = Batched[dict[str, Any], dict[str, Any]](lambda m: self.enricher.history_many(m),
                                                                 self.tasks, "pop-history")

    def get(self, linkedid: str) -> Lookups | None:
        return self._lookups.get(linkedid)

    def prefetch(self, linkedid: str, caller_raw: str, callback_id: int | None = None) -> Lookups:
        """The call's lookups, started now unless they run already. `callback_id`: a
        callback's pop, whose history leaves out the callback item being called back."""
        found = self._lookups.get(linkedid)
        if found is None:
            match = self.matches.ask(linkedid, caller_raw)
            history = self.tasks.spawn(self._history(linkedid, match, callback_id), f"pop-history-{linkedid}")
            for task in (match, history):  # a pop nobody rang for still had its error looked at
                task.add_done_callback(_retrieved)
            found = self._lookups[linkedid] = Lookups(match, history, asyncio.get_running_loop().time())
        return found

    def late(self, linkedid: str) -> None:
        """Say MatchReady when the call's match (not there in time for its ring) arrives."""
        found = self._lookups.get(linkedid)
        if found is not None:
            found.match.add_done_callback(functools.partial(self._match_ready, linkedid))

    def _match_ready(self, linkedid: str, _: object) -> None:
        self._ready(MatchReady(linkedid))

    async def _history(self, linkedid: str, match: asyncio.Future[dict[str, Any]],
                       callback_id: int | None = None) -> dict[str, Any]:
        try:
            data = await self.histories.ask(linkedid, await match)
        except Exception:
            log.exception("open tickets and recent calls for %s failed; the pop shows none", linkedid)
            raise
        if callback_id is not None:  # a callback's pop: the number's other open items, not this one
            data = {**data, "callbacks": [c for c in data.get("callbacks", []) if c.get("id") != callback_id]}
        self._ready(HistoryReady(linkedid))
        return data

    def history_now(self, linkedid: str) -> dict[str, Any] | None:
        """The call's history when it is there (None: not yet, or it failed)."""
        found = self._lookups.get(linkedid)
        task = found.history if found else None
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    def match_now(self, linkedid: str, number: str | None) -> dict[str, Any] | None:
        """The call's match once its lookup is over (a failed one: unavailable), else None."""
        found = self._lookups.get(linkedid)
        if found is None or not found.match.done():
            return None
        if found.match.cancelled() or found.match.exception() is not None:
            return unavailable(number)
        return found.match.result()

    def drop(self, linkedid: str) -> None:
        """Forget a call's lookups, cancelling what has not finished."""
        self.matches.forget(linkedid)
        self.histories.forget(linkedid)
        found = self._lookups.pop(linkedid, None)
        for task in (found.match, found.history) if found else ():
            if not task.done():
                task.cancel()

    async def close(self) -> None:
        await self.tasks.stop()
