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
from typing import Any

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


class PopLookups:
    def __init__(self, enricher: PopEnricher, ready: Callable[[HistoryReady | MatchReady], None]) -> None:
        self.enricher, self._ready = enricher, ready
        self._lookups: dict[str, Lookups] = {}  # linkedid -> the pop's customer data, both phases
        self._unmatched: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}  # linkedid -> caller
        self._matcher: asyncio.Task[None] | None = None
        self._unread: dict[str, tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = {}  # linkedid -> match
        self._reader: asyncio.Task[None] | None = None
        self.tasks = TaskSet()

    def get(self, linkedid: str) -> Lookups | None:
        return self._lookups.get(linkedid)

    def prefetch(self, linkedid: str, caller_raw: str, callback_id: int | None = None) -> Lookups:
        """The call's lookups, started now unless they run already. `callback_id`: a
        callback's pop, whose history leaves out the callback item being called back."""
        found = self._lookups.get(linkedid)
        if found is None:
            match: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._unmatched[linkedid] = (caller_raw, match)
            if self._matcher is None or self._matcher.done():
                self._matcher = self.tasks.spawn(self._match_all(), "pop-matcher")
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

    async def _match_all(self) -> None:
        """Match every caller waiting for it in one lookup on a worker thread, until none waits."""
        while self._unmatched:
            batch, self._unmatched = self._unmatched, {}
            waiting = [(raw, fut) for raw, fut in batch.values() if not fut.done()]
            try:
                found = await asyncio.to_thread(self.enricher.match_pops, [raw for raw, _ in waiting])
            except Exception as exc:
                for _, fut in waiting:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), match in zip(waiting, found, strict=True):
                if not fut.done():
                    fut.set_result(match)

    async def _read_all(self) -> None:
        """Read the history of every call waiting for it in one go on a worker thread, until none waits."""
        while self._unread:
            batch, self._unread = self._unread, {}
            waiting = [(match, fut) for match, fut in batch.values() if not fut.done()]
            try:
                found = await asyncio.to_thread(self.enricher.history_many, [match for match, _ in waiting])
            except Exception as exc:
                for _, fut in waiting:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), data in zip(waiting, found, strict=True):
                if not fut.done():
                    fut.set_result(data)

    async def _history(self, linkedid: str, match: asyncio.Future[dict[str, Any]],
                       callback_id: int | None = None) -> dict[str, Any]:
        try:
            read: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._unread[linkedid] = (await match, read)
            if self._reader is None or self._reader.done():
                self._reader = self.tasks.spawn(self._read_all(), "pop-history")
            data = await read
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
        self._unmatched.pop(linkedid, None)
        self._unread.pop(linkedid, None)
        found = self._lookups.pop(linkedid, None)
        for task in (found.match, found.history) if found else ():
            if not task.done():
                task.cancel()

    async def close(self) -> None:
        await self.tasks.stop()
