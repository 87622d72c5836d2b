"""A broadcast written straight onto idle sockets, the frame made once per message.

Layer: I/O shell (edge), beside ws.py. Server frames are not masked, so one message's
WebSocket frame is the same bytes for every browser: it is built once (cached by the
message's text, which the hub encoded once) and, for a socket whose sender is idle
with nothing queued, written to its transport by the hub at publish time. No task
wakes, no Starlette or uvicorn send runs, nothing is re-encoded per client.

Only where that is sure to be right: the socket is served by uvicorn's
websockets-sansio protocol (what `hotline serve` runs; its framing state holds
nothing for sent data frames), without permessage-deflate, open, not closing, and
its transport below the high-water mark. Anything else (a paused transport, the
TestClient, another server) gets None or a refusal, and the message takes the
client's bounded queue as before: the order per socket and the slow-client cut-off
(4408 once the queue is full) stay as they were. tests/console/test_ws_direct.py
runs a real uvicorn and fails if this path stops being taken.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi import WebSocket
from websockets.protocol import State

from agent_console.hub import Message
from agent_console.middleware import SERVER_SEND

try:  # uvicorn's protocol class: absent or renamed in another version -> no direct path
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


@functools.lru_cache(maxsize=16)
def text_frame(text: str) -> bytes:
    """The unmasked, unfragmented text frame of `text` (the same for every socket).
    The header is built here (RFC 6455 5.2: FIN + opcode 1, then the length in 7, 7+16 or
    7+64 bits), not by websockets' Frame.serialize: 1.3 instead of 4 us, once per pop and
    agent; tests/console/test_ws_direct.py holds it to Frame.serialize's bytes."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 1 << 16:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


class DirectWriter:
    """Writes a message's frame to one socket's transport, or says it may not (False)."""

    __slots__ = ("_proto",)

    def __init__(self, proto: Any) -> None:
        self._proto = proto

    def __call__(self, msg: Message) -> bool:
        proto = self._proto
        if (not proto.writable.is_set() or proto.close_sent or proto.disconnected
                or proto.conn.state is not State.OPEN or proto.transport.is_closing()):
            return False
        proto.transport.write(text_frame(msg.text))
        return True


def direct_writer(ws: WebSocket) -> DirectWriter | None:
    """The direct path for this socket, or None where it is not sure to be right."""
    proto = getattr(ws.scope.get(SERVER_SEND), "__self__", None)  # uvicorn's send is its protocol's method
    if WebSocketsSansIOProtocol is None or not isinstance(proto, WebSocketsSansIOProtocol):
        return None
    if proto.conn.extensions or not proto.handshake_complete:  # e.g. permessage-deflate negotiated
        return None
    return DirectWriter(proto)
