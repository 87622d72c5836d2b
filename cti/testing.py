"""A fake Asterisk Manager Interface: a real asyncio TCP server for tests and benchmarks.

Layer: test support, shipped (as panoramisk ships `testing.py`) so the tests and
the benchmarks drive the bridge through one fake. A thin I/O shell over
cti.protocol; the product never imports it. Must not import from the rest of the
project.

It greets, checks the login, answers Ping, Getvar and the resync lists
(CoreShowChannels, QueueStatus) from what the caller put in `channels` and
`entries`, records every action, and can send anything: recorded transcripts,
garbage, truncated or oversized frames, floods. It can drop connections, stay
silent to pings, or pretend to be a restarted Asterisk (a new FullyBooted Uptime).
An Originate is never answered, so a test can cut the connection while one is pending.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from cti.protocol import AmiMessage, AmiParser

GREETING = b"Asterisk Call Manager/9.0.0\r\n"


def frame(**fields: str) -> bytes:
    """One AMI frame: `Key: Value` lines and the blank line that ends it."""
    return ("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()


@dataclass
class FakeAmiServer:
    secret: str = "s3cret"
    uptime: int = 100
    answer_pings: bool = True
    channels: list[dict[str, str]] = field(default_factory=list)  # CoreShowChannel rows
    entries: list[dict[str, str]] = field(default_factory=list)  # QueueEntry rows
    actions: list[AmiMessage] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # Getvar answers
    logins: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._writers: list[asyncio.StreamWriter] = []  # logged-in connections
        self._server: asyncio.Server | None = None
        self.connected = asyncio.Event()

    async def start(self) -> FakeAmiServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def drop(self) -> None:
        """Close every logged-in connection, as a network cut or an Asterisk restart would."""
        for w in self._writers:
            w.close()
        self._writers.clear()
        self.connected.clear()

    def write(self, data: bytes) -> None:
        """Queue `data` to every logged-in connection without waiting (a burst: call drain())."""
        for w in self._writers:
            w.write(data)

    async def drain(self) -> None:
        for w in list(self._writers):
            with contextlib.suppress(ConnectionError):
                await w.drain()

    async def send(self, data: bytes) -> None:
        self.write(data)
        await self.drain()

    def names(self) -> list[str]:
        return [a.get("Action") for a in self.actions]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(GREETING)
        parser = AmiParser()
        try:
            while data := await reader.read(65536):
                for msg in parser.feed(data):
                    if isinstance(msg, AmiMessage):
                        self.actions.append(msg)
                        self._answer(msg, writer)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass  # dropped by the test or the server shutting down
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()  # also when the client left first: no transport left unclosed

    def _answer(self, msg: AmiMessage, writer: asyncio.StreamWriter) -> None:
        action, aid = msg.get("Action"), msg.action_id
        if action == "Login":
            self._login(msg, writer)
        elif action == "Ping":
            if self.answer_pings:
                writer.write(frame(Response="Success", ActionID=aid, Ping="Pong"))
        elif action == "CoreShowChannels":
            self._list(writer, aid, "CoreShowChannel", self.channels, "CoreShowChannelsComplete")
        elif action == "QueueStatus":
            self._list(writer, aid, "QueueEntry", self.entries, "QueueStatusComplete")
        elif action == "Getvar":
            writer.write(frame(Response="Success", ActionID=aid, Variable=msg.get("Variable"),
                               Value=self.variables.get(msg.get("Variable"), "")))
        elif action != "Originate":  # never answered (see the module docstring)
            writer.write(frame(Response="Success", ActionID=aid, Message="ok"))

    def _login(self, msg: AmiMessage, writer: asyncio.StreamWriter) -> None:
        aid = msg.action_id
        if msg.get("Secret") != self.secret:
            writer.write(frame(Response="Error", ActionID=aid, Message="Authentication failed"))
            return
        self.logins += 1
        writer.write(frame(Response="Success", ActionID=aid, Message="Authentication accepted"))
        writer.write(frame(Event="FullyBooted", Uptime=str(self.uptime), Status="Fully Booted"))
        self._writers.append(writer)
        self.connected.set()

    @staticmethod
    def _list(writer: asyncio.StreamWriter, aid: str, event: str, rows: list[dict[str, str]],
              complete: str) -> None:
        writer.write(frame(Response="Success", ActionID=aid, EventList="start"))
        for row in rows:
            writer.write(frame(Event=event, ActionID=aid, **row))
        writer.write(frame(Event=complete, ActionID=aid, EventList="Complete",
                           ListItems=str(len(rows))))
