"""One Redis link kept up: connect, run a session, reconnect with capped backoff.

Layer: I/O shell shared by scaleout.relay (the bridge instance) and scaleout.remote
(web-only instances). Channel names and the backoff schedule are pure.
The redis client's own retries are off: this loop is the one place that
reconnects, and it logs each outage once when it starts and once when it ends.
redis-py 8.1 can swallow a task's cancellation inside a command (a cancelled
PUBLISH returned normally here and the shutdown hung), so the loops also check
`cancelled()` and a session's tasks get a bounded time to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from agent_console.scaleout.health import LinkStatus
from tickets.sites import DEFAULT_SITE

log = logging.getLogger(__name__)
STOP_WITHIN = 2.0  # seconds a session's tasks get to stop after a cancel
SEND_BATCH = 256  # queued messages published per round trip


@dataclass(frozen=True, slots=True)
class Channels:
    """`<prefix>:<queue>:events` (bridge -> all), `:requests` (web -> bridge),
    `:reply:<instance>` (bridge -> one web instance), `:peers` (every instance ->
    every other: shared events such as ticket edits, and bridge announcements)."""

    events: str
    requests: str
    reply_prefix: str
    peers: str

    @classmethod
    def of(cls, prefix: str, queue: str, site: str = DEFAULT_SITE) -> Channels:
        """One site's events, requests and replies (`<prefix>:<queue>:<site>:…`); the
        peers channel is every site's (ticket edits, bridge announcements)."""
        base = f"{prefix}:{queue}"
        own = f"{base}:{site}"
        return cls(f"{own}:events", f"{own}:requests", f"{own}:reply:", f"{base}:peers")

    def reply(self, instance: str) -> str:
        return self.reply_prefix + instance


@dataclass
class Backoff:
    first: float = 0.1
    cap: float = 5.0
    current: float = 0.1

    def next(self) -> float:
        delay, self.current = self.current, min(self.current * 2, self.cap)
        return delay

    def reset(self) -> None:
        self.current = self.first


def redact(url: str) -> str:
    """The URL for logs and /healthz, without a password."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url


class RedisLink:
    """Runs `session(client)` while Redis answers; after an error, waits (capped
    backoff) and runs it again on a fresh connection. `up` is what /healthz shows."""

    def __init__(self, url: str, name: str, clock: Callable[[], datetime], backoff_cap: float = 5.0) -> None:
        self.url, self.name, self.clock = url, name, clock
        self.backoff = Backoff(cap=backoff_cap)
        self.up = False
        self.since: datetime | None = None
        self.last_error = ""
        self.outages = 0

    @property
    def status(self) -> LinkStatus:
        return LinkStatus.CONNECTED if self.up else LinkStatus.DISCONNECTED

    def state(self) -> dict[str, Any]:
        return {"kind": "redis", "url": redact(self.url), "role": self.name, "status": self.status.value,
                "since": self.since.isoformat() if self.since else None, "last_error": self.last_error}

    def client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2,
                                       health_check_interval=5)

    async def run(self, session: Callable[[aioredis.Redis], Awaitable[None]]) -> None:
        while not cancelled():
            client = self.client()
            try:
                await client.ping()
                self._mark_up()
                await session(client)
                raise RedisError("session ended")  # sessions only end by an error
            except (RedisError, OSError) as exc:
                self._mark_down(exc)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(self.backoff.next())

    def _mark_up(self) -> None:
        self.up, self.since = True, self.clock()
        self.backoff.reset()
        log.info("redis %s: connected to %s", self.name, redact(self.url))

    def _mark_down(self, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if self.up or not self.last_error:
            self.outages += 1
            log.warning("redis %s: link to %s lost (%s); reconnecting with backoff up to %.0f s",
                        self.name, redact(self.url), error, self.backoff.cap)
        self.up, self.since, self.last_error = False, self.clock(), error


async def run_together(*coros: Coroutine[Any, Any, None], names: tuple[str, ...]) -> None:
    """Run the coroutines as named tasks until the first one fails; cancel the rest
    and raise that failure (a session is its reader and its writer together)."""
    tasks = {asyncio.get_running_loop().create_task(c, name=n) for c, n in zip(coros, names, strict=True)}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
        raise RedisError("a session task ended")
    finally:
        await stop(tasks)


async def stop(tasks: set[asyncio.Task[None]]) -> None:
    """Cancel the tasks and give them STOP_WITHIN seconds to end."""
    for task in list(tasks):
        task.cancel()
    if tasks:
        await asyncio.wait(list(tasks), timeout=STOP_WITHIN)


def cancelled() -> bool:
    """True once the current task was asked to stop (even if a library swallowed it)."""
    task = asyncio.current_task()
    return bool(task and task.cancelling())


M = TypeVar("M")


async def incoming(pubsub: Any, decode: Callable[[bytes | str], M]) -> AsyncIterator[tuple[str, M]]:
    """(channel, decoded message) from a subscribed pubsub until the task is asked to
    stop; a message `decode` refuses (ValueError) is logged and skipped."""
    while not cancelled():
        raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if raw is None or raw.get("type") != "message":
            continue
        channel = raw.get("channel")
        channel = channel.decode(errors="replace") if isinstance(channel, bytes) else str(channel)
        try:
            message = decode(raw["data"])
        except ValueError as exc:
            log.warning("ignoring a message on %s: %s", channel, exc)
            continue
        yield channel, message


class Outbox(Generic[M]):
    """(channel, message) items waiting for Redis, in order and bounded: past `limit` the
    oldest goes (counted in `dropped`). `send` publishes them while a session lasts."""

    def __init__(self, limit: int) -> None:
        self.limit, self.dropped = limit, 0
        self.items: deque[tuple[str, M]] = deque()
        self.ready = asyncio.Event()

    def put(self, channel: str, message: M) -> None:
        if len(self.items) >= self.limit:
            self.items.popleft()
            self.dropped += 1
        self.items.append((channel, message))
        self.ready.set()

    def discard(self, stale: Callable[[M], bool]) -> int:
        """Remove the stale messages (not counted in `dropped`); how many went."""
        before = len(self.items)
        self.items = deque(item for item in self.items if not stale(item[1]))
        return before - len(self.items)

    async def send(self, client: Any, encode: Callable[[M], bytes | str]) -> None:
        await send_queued(client, self.items, self.ready, encode)


async def send_queued(client: Any, outbox: deque[tuple[str, M]], ready: asyncio.Event,
                      encode: Callable[[M], bytes | str], batch: int = SEND_BATCH) -> None:
    """Publish `outbox`'s (channel, message) items in order, up to `batch` of them in one
    pipeline (one round trip, not one per message: a busy bridge's backlog drains at
    Redis's pace instead of the network's). Items leave the outbox only once Redis took
    their pipeline; after an error the whole batch is sent again on the next connection
    (receivers drop repeats: events by `seq`, ticket edits by `updated_at`, replies by
    request id). One `encode` refuses (ValueError) is logged and dropped. Waits on
    `ready` while empty, until the task is asked to stop."""
    while not cancelled():
        if not outbox:
            ready.clear()
            await ready.wait()
            continue
        taken, pipe = list(itertools.islice(outbox, batch)), client.pipeline(transaction=False)
        for item in taken:
            try:
                pipe.publish(item[0], encode(item[1]))
            except ValueError:
                log.exception("cannot encode %s for Redis; not sent", type(item[1]).__name__)
        if len(pipe):
            await pipe.execute()
        for item in taken:  # a full outbox may have dropped some of them meanwhile
            if outbox and outbox[0] is item:
                outbox.popleft()


def spawn(coro: Coroutine[Any, Any, None], name: str, tasks: set[asyncio.Task[None]]) -> None:
    """A named background task kept in `tasks` until it ends."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
