"""Every open WebSocket's session, checked in one round.

Layer: I/O shell (asyncio; the reads go to a worker thread). A socket asks
`until_over(token)`, which returns once its session has ended (logout, revoked,
expired, idle); ws.py then closes it with 4401. Every `every` seconds one round
looks at all watched sessions: the cache answers most of them on the loop, and
what it cannot answer is read in one statement on one worker thread
(Sessions.read_many), where each socket used to take a thread and a query of its
own: 200 consoles made 40 thread hops a second that shared the GIL with the pops.
The round runs only while a socket is watched. When the database cannot be read,
every socket stays open and the next round asks again.
"""

from __future__ import annotations

import asyncio
import logging

from agent_console.sessions import CacheMiss, Sessions

log = logging.getLogger(__name__)


class SessionWatch:
    def __init__(self, sessions: Sessions, every: float) -> None:
        self.sessions, self.every = sessions, every
        self._watched: dict[str, set[asyncio.Future[None]]] = {}  # token -> its sockets' waiters
        self._rounds: asyncio.Task[None] | None = None
        self.checks = 0  # rounds run
        self.reads = 0  # of them, rounds that read the database

    @property
    def watched(self) -> int:
        return sum(len(w) for w in self._watched.values())

    async def until_over(self, token: str) -> None:
        """Return once the session of `token` is over."""
        over = asyncio.get_running_loop().create_future()
        self._watched.setdefault(token, set()).add(over)
        if self._rounds is None:
            self._rounds = asyncio.create_task(self._run(), name="ws-session-watch")
        try:
            await over
        finally:
            waiters = self._watched.get(token)
            if waiters is not None:
                waiters.discard(over)
                if not waiters:
                    del self._watched[token]
            if not self._watched and self._rounds is not None:
                self._rounds.cancel()
                self._rounds = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.check()
            except Exception:  # never: check() keeps every socket open on a failure
                log.exception("WebSocket session round failed")

    async def check(self) -> None:
        """One round: end the waits of every session that is over."""
        self.checks += 1
        over: list[str] = []
        unknown: list[str] = []
        for token in list(self._watched):
            found = self.sessions.peek(token)
            if found is None:
                over.append(token)
            elif isinstance(found, CacheMiss):
                unknown.append(token)
        if unknown:
            self.reads += 1
            try:
                read = await asyncio.to_thread(self.sessions.read_many, unknown)
            except Exception:  # the database is down: keep the sockets, ask again next round
                log.warning("could not re-check %d WebSocket sessions", len(unknown), exc_info=True)
                read = {}
            over += [token for token in unknown if token in read and read[token] is None]
        for token in over:
            for waiter in self._watched.get(token, ()):
                if not waiter.done():
                    waiter.set_result(None)
