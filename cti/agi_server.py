"""FastAGI server: a thin asyncio shell around cti.agi, with a hard deadline.

Layer: I/O shell. Imports only cti. One connection is one AGI request: read the
header, find the handler by script name (`agi://127.0.0.1:4573/route` -> "route"),
run it, send its channel variables with SET VARIABLE, close.

The deadline (300 ms by default) counts from the accepted connection and covers
everything. The handler gets the time left minus a reserve for sending; when it
is late or fails, the script's `fallback` variables go out instead (the dialplan
then takes the plain default queue). An unknown script, garbage or a caller who
hangs up mid-request ends the connection without an answer: AGI() returns and
the dialplan goes on with its defaults. Nothing here ever holds a caller: the
connection is closed when the deadline passes, whatever state it is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from cti.agi import (
    AgiProtocolError,
    AgiReply,
    AgiRequest,
    ReplyKind,
    ReplyReader,
    RequestReader,
    set_variable,
)

log = logging.getLogger(__name__)

Variables = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class AgiScript:
    """`handle` answers a request with channel variables; `fallback` is what goes
    out when it is late or raises (no I/O: it must always be ready at once)."""

    handle: Callable[[AgiRequest], Awaitable[Variables]]
    fallback: Callable[[AgiRequest, str], Variables]


@dataclass
class AgiStats:
    requests: int = 0
    answered: int = 0
    fallbacks: int = 0  # the handler was late or failed
    refused: int = 0  # garbage, unknown script, or the deadline passed before an answer
    latencies_ms: list[float] = field(default_factory=list)  # accept -> last reply, the last 10,000

    def took(self, ms: float) -> None:
        self.latencies_ms.append(ms)
        if len(self.latencies_ms) > 10_000:
            del self.latencies_ms[:5_000]


class AgiServer:
    def __init__(self, scripts: Mapping[str, AgiScript], host: str = "127.0.0.1", port: int = 4573,
                 deadline: float = 0.3, send_reserve: float = 0.05) -> None:
        self.scripts, self.host, self.requested_port = dict(scripts), host, port
        self.deadline, self.send_reserve = deadline, send_reserve
        self.stats = AgiStats()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (the requested one, or the one the OS chose for 0)."""
        if self._server is None or not self._server.sockets:
            return self.requested_port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.requested_port,
                                                  reuse_address=True)
        log.info("FastAGI listening on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._open):
                task.cancel()
            await asyncio.gather(*self._open, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        until = loop.time() + self.deadline
        self.stats.requests += 1
        try:
            async with asyncio.timeout_at(until):
                request = await _read_request(reader)
                script = self.scripts.get(request.script)
                if script is None:
                    log.warning("FastAGI: unknown script %r (answered with nothing)", request.script[:40])
                    self.stats.refused += 1
                    return
                variables = await self._answer(script, request, until - self.send_reserve)
                await _send(reader, writer, variables)
            self.stats.answered += 1
            self.stats.took((time.perf_counter() - started) * 1000)
        except (TimeoutError, AgiProtocolError, ConnectionError, ValueError) as exc:
            self.stats.refused += 1
            log.warning("FastAGI request not answered: %s", type(exc).__name__ if str(exc) == "" else exc)
        finally:
            self._open.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, script: AgiScript, request: AgiRequest, until: float) -> Variables:
        try:
            async with asyncio.timeout_at(until):
                return list(await script.handle(request))
        except TimeoutError:
            reason = "timeout"
        except Exception:  # a bug or the database: the caller still gets the default queue
            log.exception("FastAGI script %s failed; answering with its fallback", request.script)
            reason = "error"
        self.stats.fallbacks += 1
        return list(script.fallback(request, reason))


async def _read_request(reader: asyncio.StreamReader) -> AgiRequest:
    parser = RequestReader()
    while True:
        chunk = await reader.read(4096)
        if not chunk:
            raise ConnectionError("closed before the header ended")
        request = parser.feed(chunk)
        if request is not None:
            return request


async def _send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, variables: Variables) -> None:
    """One SET VARIABLE at a time, each waiting for its reply (a 5xx is logged, not fatal)."""
    replies = ReplyReader()
    for name, value in variables:
        writer.write(set_variable(name, value))
        await writer.drain()
        got: list[AgiReply] = []
        while not got:
            chunk = await reader.read(4096)
            if not chunk:
                raise ConnectionError("Asterisk closed the AGI connection")
            got = replies.feed(chunk)
        for reply in got:
            if reply.kind is ReplyKind.HANGUP:
                raise ConnectionError("the caller hung up")
            if reply.kind is not ReplyKind.OK:
                log.warning("FastAGI: SET VARIABLE %s answered %d %s", name, reply.code, reply.data[:80])
