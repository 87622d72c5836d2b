"""AmiClient: the thin asyncio shell around cti.protocol.

Layer: I/O shell. Must not import from the rest of the project.

- Logs in, then reads forever. The socket reader only parses and enqueues; a
  separate consumer task calls `on_message`, so a slow consumer never stops
  the reader (Asterisk drops a client it cannot write to for `writetimeout`).
  If the backlog passes `backlog_limit`, the connection is dropped on purpose
  and re-established: a resync is cheaper than unbounded memory.
- Actions get an ActionID and a future with a timeout. On a lost connection
  every pending future fails with ConnectionLost and nothing is re-sent: an
  Originate sent twice rings a customer twice (panoramisk re-sends).
- Pings on an interval; a missing Pong closes the connection, unless bytes kept
  arriving meanwhile (a saturated stream: the Pong waits behind the events in
  Asterisk's queue or ours, and dropping the link would lose the unread ones).
- Reconnects with capped exponential backoff and jitter.
- FullyBooted's Uptime tells a restart of Asterisk from a mere reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cti.protocol import AmiMessage, AmiParser, FrameTooLarge, encode_action
from cti.tasks import TaskSet

log = logging.getLogger(__name__)
BOOT_WAIT = 10.0  # seconds to wait for FullyBooted after login

OnMessage = Callable[[AmiMessage], Awaitable[None] | None]
OnConnected = Callable[[bool], Awaitable[None] | None]
OnDisconnected = Callable[[str], Awaitable[None] | None]


class ConnectionLost(Exception):
    """The AMI connection went away before the action was answered."""


class AmiError(Exception):
    """Asterisk answered an action with an error, or refused the login."""


@dataclass
class AmiStats:
    messages: int = 0
    events: int = 0
    reconnects: int = 0
    malformed_lines: int = 0
    oversized_frames: int = 0
    skipped_frames: int = 0  # events no one reads, not parsed (AmiParser `wanted`)
    backlog_overflows: int = 0
    restarts: int = 0
    late_pongs: int = 0  # Pongs not back in time while events still arrived: the link was kept


@dataclass
class _ListCollector:
    complete_event: str
    items: list[AmiMessage] = field(default_factory=list)
    future: asyncio.Future[list[AmiMessage]] | None = None


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result


class AmiClient:
    def __init__(
        self, host: str, port: int, username: str, secret: str, *, on_message: OnMessage,
        on_connected: OnConnected | None = None, on_disconnected: OnDisconnected | None = None,
        ping_interval: float = 10.0, action_timeout: float = 5.0, backoff_max: float = 30.0,
        max_frame: int = 64 * 1024, backlog_limit: int = 1_000_000, wanted: frozenset[str] | None = None,
    ) -> None:
        """`wanted`: the event names `on_message` reads (None: all); others are not
        parsed (cti.protocol.AmiParser), replies to actions always are."""
        self.host, self.port, self.username, self._secret = host, port, username, secret
        self._on_message, self._on_connected = on_message, on_connected
        self._on_disconnected = on_disconnected
        self.ping_interval, self.action_timeout = ping_interval, action_timeout
        self.backoff_max, self.max_frame, self.backlog_limit = backoff_max, max_frame, backlog_limit
        self.wanted = wanted
        self.stats = AmiStats()
        self.connected = asyncio.Event()
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[AmiMessage]] = {}
        self._lists: dict[str, _ListCollector] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._backlog: asyncio.Queue[AmiMessage] = asyncio.Queue()
        self._tasks = TaskSet()
        self._boot_epoch: float | None = None
        self._closing = False
        self.last_error = ""
        self._drop_reason = ""
        self._last_read = 0.0  # monotonic time of the last bytes read from Asterisk
        self._malformed_base = self._oversized_base = self._skipped_base = 0

    # --- public -------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        self._spawn(self._consume(), "ami-consumer")
        return self._spawn(self._run(), "ami-connection")

    async def close(self) -> None:
        self._closing = True
        self._drop_connection()
        await self._tasks.stop()

    async def send_action(self, name: str, fields: Mapping[str, str | Sequence[str]] | None = None,
                          timeout: float | None = None) -> AmiMessage:
        action_id, writer = self._prepare()
        future: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        try:
            writer.write(encode_action(name, fields or {}, action_id))
            reply = await asyncio.wait_for(future, timeout or self.action_timeout)
        finally:
            self._pending.pop(action_id, None)
        if reply.get("Response").lower() == "error":
            raise AmiError(f"{name}: {reply.get('Message') or 'error'}")
        return reply

    async def send_action_list(self, name: str, complete_event: str,
                               fields: Mapping[str, str] | None = None,
                               timeout: float | None = None) -> list[AmiMessage]:
        """Actions answered by an event list (CoreShowChannels, QueueStatus)."""
        action_id, writer = self._prepare()
        loop = asyncio.get_running_loop()
        collector = _ListCollector(complete_event, future=loop.create_future())
        self._lists[action_id] = collector
        assert collector.future is not None
        try:
            writer.write(encode_action(name, fields or {}, action_id))
            return await asyncio.wait_for(collector.future, timeout or self.action_timeout * 2)
        finally:
            self._lists.pop(action_id, None)

    # --- internals -----------------------------------------------------------
    def _prepare(self) -> tuple[str, asyncio.StreamWriter]:
        writer = self._writer
        if writer is None or not self.connected.is_set():
            raise ConnectionLost("not connected to Asterisk")
        return f"hl-{next(self._ids)}", writer

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return self._tasks.spawn(coro, name)

    async def _run(self) -> None:
        delay = 0.5
        while not self._closing:
            try:
                await self._session()
                delay = 0.5  # the session had been up: start backoff afresh
            except (OSError, AmiError, ConnectionLost, asyncio.IncompleteReadError) as exc:
                self.last_error = self._drop_reason or str(exc) or type(exc).__name__
                log.warning("AMI %s:%s: %s", self.host, self.port, self.last_error)
            if self._closing:
                return
            self.stats.reconnects += 1
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, self.backoff_max)

    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.action_timeout)
        self._writer = writer
        parser = AmiParser(self.max_frame, self.wanted)
        self._malformed_base = self.stats.malformed_lines
        self._oversized_base = self.stats.oversized_frames
        self._skipped_base = self.stats.skipped_frames
        self._drop_reason = ""
        self._last_read = time.monotonic()
        booted: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        try:
            leftover = await self._login(reader, writer, parser)
            self.connected.set()
            for msg in leftover:  # events that came in the same read as the login reply
                self._dispatch(msg, booted)
            self._count(parser)
            self._spawn(self._announce(booted), "ami-announce")
            pinger = self._spawn(self._ping_loop(), "ami-ping")
            try:
                await self._read(reader, parser, booted)
            finally:
                pinger.cancel()
        finally:
            self._drop_connection()
            await self._disconnected(self.last_error or "connection closed")

    async def _login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     parser: AmiParser) -> list[AmiMessage]:
        writer.write(encode_action("Login", {"Username": self.username, "Secret": self._secret,
                                             "Events": "on"}, "login"))
        deadline = time.monotonic() + self.action_timeout
        while time.monotonic() < deadline:
            data = await asyncio.wait_for(reader.read(65536), self.action_timeout)
            if not data:
                raise ConnectionLost("Asterisk closed the connection during login")
            messages = [m for m in parser.feed(data) if isinstance(m, AmiMessage)]
            for i, msg in enumerate(messages):
                if msg.action_id == "login":
                    if msg.get("Response").lower() != "success":
                        raise AmiError(f"AMI login refused for {self.username!r}: "
                                       f"{msg.get('Message')}")
                    return messages[i + 1:]
        raise AmiError("no answer to AMI login")

    async def _read(self, reader: asyncio.StreamReader, parser: AmiParser,
                    booted: asyncio.Future[AmiMessage]) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                raise ConnectionLost("Asterisk closed the AMI connection")
            self._last_read = time.monotonic()
            for item in parser.feed(data):
                if isinstance(item, FrameTooLarge):
                    log.error("AMI frame of %d bytes refused (max %d)", item.size, self.max_frame)
                elif isinstance(item, AmiMessage):
                    self._dispatch(item, booted)
            self._count(parser)
            if self._backlog.qsize() > self.backlog_limit:
                self.stats.backlog_overflows += 1
                raise ConnectionLost(f"event backlog over {self.backlog_limit}: reconnecting to resync")

    def _count(self, parser: AmiParser) -> None:
        self.stats.malformed_lines = self._malformed_base + parser.malformed_lines
        self.stats.oversized_frames = self._oversized_base + parser.oversized_frames
        self.stats.skipped_frames = self._skipped_base + parser.skipped_frames

    def _dispatch(self, msg: AmiMessage, booted: asyncio.Future[AmiMessage]) -> None:
        self.stats.messages += 1
        action_id = msg.action_id
        if action_id in self._pending and msg.kind == "response":
            future = self._pending[action_id]
            if not future.done():
                future.set_result(msg)
            return
        collector = self._lists.get(action_id) if action_id else None
        if collector is not None and collector.future is not None:
            if msg.kind == "response" and msg.get("Response").lower() == "error":
                collector.future.set_exception(AmiError(msg.get("Message")))
            elif msg.name == collector.complete_event:
                if not collector.future.done():
                    collector.future.set_result(collector.items)
            elif msg.kind == "event":
                collector.items.append(msg)
            return
        if msg.kind != "event":
            return
        if msg.name == "FullyBooted" and not booted.done():
            booted.set_result(msg)
        self.stats.events += 1
        self._backlog.put_nowait(msg)

    async def _announce(self, booted: asyncio.Future[AmiMessage]) -> None:
        try:
            # a client that logs in while Asterisk still boots gets FullyBooted when
            # it is done, which on a loaded machine took more than 2 s
            msg = await asyncio.wait_for(asyncio.shield(booted), BOOT_WAIT)
            uptime = float(msg.get("Uptime") or 0)
        except (TimeoutError, ValueError):
            uptime = None
        restarted = False
        if uptime is not None:
            epoch = time.time() - uptime
            restarted = self._boot_epoch is not None and abs(epoch - self._boot_epoch) > 2
            self._boot_epoch = epoch
            self.stats.restarts += restarted
        if self._on_connected is not None:
            await _maybe_await(self._on_connected(restarted))

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self.send_action("Ping", timeout=self.action_timeout)
            except TimeoutError:
                if time.monotonic() - self._last_read < self.action_timeout:
                    self.stats.late_pongs += 1  # alive and busy: the Pong is behind what it sends
                    log.info("AMI Pong not back within %.0f s while events still arrive; keeping the link",
                             self.action_timeout)
                    continue
                self._drop_reason = f"ping failed: no Pong and nothing else for {self.action_timeout:g} s"
                log.warning("AMI %s; dropping the connection", self._drop_reason)
                self._drop_connection()
                return
            except (ConnectionLost, AmiError) as exc:
                self._drop_reason = f"ping failed: {exc or type(exc).__name__}"
                log.warning("AMI %s; dropping the connection", self._drop_reason)
                self._drop_connection()
                return

    async def _consume(self) -> None:
        while True:
            msg = await self._backlog.get()
            try:
                await _maybe_await(self._on_message(msg))
            except Exception:
                log.exception("AMI message handler failed on %s", msg.name)

    def _drop_connection(self) -> None:
        self.connected.clear()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        lost = ConnectionLost("AMI connection lost before the answer; not re-sent")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(lost)
        for collector in self._lists.values():
            if collector.future is not None and not collector.future.done():
                collector.future.set_exception(lost)

    async def _disconnected(self, reason: str) -> None:
        if self._on_disconnected is not None:
            with contextlib.suppress(Exception):
                await _maybe_await(self._on_disconnected(reason))
