"""A lean WebSocket receiver for the broadcast benchmark's 1,000 clients.

Why by hand: the benchmark runs 1,000 clients in one Python process on the same two cores
as the server. With the `websockets` client each received frame costs that process tens
of microseconds (parser generator, message assembler, a task woken per message), so the
last of 1,000 clients reads a broadcast long after the server wrote it: the figure then
measures the measuring process. A real help desk's browsers each have a machine of their
own. This receiver does per frame only what it must: find the frame in the bytes (RFC 6455
section 5.2; the server's frames are unmasked and, with per-message deflate off, never
compressed), hand the text to `on_text`, and answer a ping (the hub's heartbeat) with its
pong. The opening handshake is a plain HTTP/1.1 upgrade with the session cookie and Origin,
as a browser sends it. Benchmark-only: no fragmented messages, no close handshake.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from typing import cast

_PING, _PONG, _TEXT, _CLOSE = 0x9, 0xA, 0x1, 0x8


class LeanWs(asyncio.Protocol):
    def __init__(self, request: bytes, on_text: Callable[[float, bytes], None]) -> None:
        self._request, self._on_text = request, on_text
        self._buf = bytearray()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # the 101 read
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transport is no asyncio.Transport subclass, but has its methods
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self._buf
        buf += data
        if not self.opened.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:buf.find(b"\r\n")])
            del buf[:end + 4]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(f"handshake refused: {status!r}"))
                assert self.transport is not None
                self.transport.close()
                return
            self.opened.set_result(None)
        while len(buf) >= 2:
            opcode, n, head = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, head = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, head = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < head + n:
                return
            payload = bytes(buf[head:head + n])
            del buf[:head + n]
            if opcode == _TEXT:
                self._on_text(now, payload)
            elif opcode == _PING:
                self._send(_PONG, payload)
            elif opcode == _CLOSE:
                assert self.transport is not None
                self.transport.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        """A client frame: masked, as RFC 6455 requires of every client-to-server frame."""
        assert self.transport is not None and len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def lean_connect(base: str, cookie_header: str, on_text: Callable[[float, bytes], None]) -> LeanWs:
    """A receiver on `base`'s /ws, open (the 101 read); `on_text(receipt time, text)` is
    called for every text frame, the snapshot first."""
    host_port = base.split("://", 1)[1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /ws HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nCookie: {cookie_header}\r\n"
               f"Origin: {base}\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: LeanWs(request, on_text), host, int(port))
    await asyncio.wait_for(proto.opened, 60)
    return proto
