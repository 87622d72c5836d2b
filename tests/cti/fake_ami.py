"""A real asyncio TCP server that speaks enough AMI for fault tests.

Layer: test support. It greets, checks the login, answers Ping/CoreShowChannels/
QueueStatus, records every action, and can send anything (recorded transcripts,
garbage, truncated or oversized frames, floods), drop connections, stay silent
to pings, or pretend to be a restarted Asterisk (new FullyBooted Uptime).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from cti.protocol import AmiMessage, AmiParser


def frame(**fields: str) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()


@dataclass
class FakeAmi:
    secret: str = "s3cret"
    uptime: int = 100
    answer_pings: bool = True
    channels: list[dict[str, str]] = field(default_factory=list)
    entries: list[dict[str, str]] = field(default_factory=list)
    actions: list[AmiMessage] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # Getvar answers
    logins: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.connected = asyncio.Event()

    async def start(self) -> FakeAmi:
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
        for w in self._writers:
            w.close()
        self._writers.clear()
        self.connected.clear()

    async def send(self, data: bytes) -> None:
        for w in list(self._writers):
            w.write(data)
            with contextlib.suppress(ConnectionError):
                await w.drain()

    def names(self) -> list[str]:
        return [a.get("Action") for a in self.actions]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        parser = AmiParser()
        try:
            while data := await reader.read(65536):
                for msg in parser.feed(data):
                    if isinstance(msg, AmiMessage):
                        self.actions.append(msg)
                        await self._answer(msg, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass  # dropped by the test or the server shutting down
        finally:
            if writer in self._writers:
                self._writers.remove(writer)

    async def _answer(self, msg: AmiMessage, writer: asyncio.StreamWriter) -> None:
        action, aid = msg.get("Action"), msg.action_id
        if action == "Login":
            if msg.get("Secret") != self.secret:
                writer.write(frame(Response="Error", ActionID=aid, Message="Authentication failed"))
                return
            self.logins += 1
            writer.write(frame(Response="Success", ActionID=aid, Message="Authentication accepted"))
            writer.write(frame(Event="FullyBooted", Uptime=str(self.uptime), Status="Fully Booted"))
            self._writers.append(writer)
            self.connected.set()
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
        elif action == "Originate":
            pass  # never answered: lets a test cut the connection while it is pending
        else:
            writer.write(frame(Response="Success", ActionID=aid, Message="ok"))
        await writer.drain()

    @staticmethod
    def _list(writer: asyncio.StreamWriter, aid: str, event: str, rows: list[dict[str, str]],
              complete: str) -> None:
        writer.write(frame(Response="Success", ActionID=aid, EventList="start"))
        for row in rows:
            writer.write(frame(Event=event, ActionID=aid, **row))
        writer.write(frame(Event=complete, ActionID=aid, EventList="Complete",
                           ListItems=str(len(rows))))
