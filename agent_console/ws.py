"""GET /ws: the session's live feed. First a `snapshot`, then deltas with `seq`.

Layer: edge. The session cookie and the Origin header are checked before the
socket is accepted (close codes 4401 / 4403). `?since=N` resumes after message
N when the hub still holds what came after it; otherwise a fresh snapshot.
A heartbeat `ping` goes out every HEARTBEAT seconds so dead peers are noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from agent_console import views
from agent_console.auth import SessionUser, origin_allowed, websocket_user
from agent_console.hub import Client, Message
from agent_console.services import Services, ServicesDep

router = APIRouter()
HEARTBEAT = 20.0


def snapshot(services: Services, who: SessionUser) -> dict[str, Any]:
    now = services.clock()
    registry = services.pbx.registry if services.pbx else None
    me = next((a for a in (registry.agent_list() if registry else []) if a.agent == who.user.endpoint), None)
    current = None
    if registry and who.user.endpoint:
        current = next((views.call_json(c) for c in registry.calls()
                        if c.agent == who.user.endpoint and c.ended_at is None), None)
        if current is not None:  # a reloaded console gets its call's ticket back
            current["ticket_id"] = services.notifier.book.ticket_for(current["linkedid"])
    data: dict[str, Any] = {
        "user": {"username": who.user.username, "role": who.user.role.value,
                 "endpoint": who.user.endpoint},
        "agent": views.agent_json(me, now) if me else None,
        "ringing": services.notifier.book.ringing_for(who.user.endpoint),
        "current_call": current,
        "pbx_connected": bool(services.pbx and services.pbx.connected),
    }
    if who.supervisor:
        data["queues"] = services.wallboard.views()
    return data


@router.websocket("/ws")
async def feed(ws: WebSocket, services: ServicesDep) -> None:
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"),
                          services.settings.allowed_origins):
        await ws.close(code=4403, reason="origin not allowed")
        return
    who = await asyncio.to_thread(websocket_user, ws, services.sessions)
    if who is None:
        await ws.close(code=4401, reason="log in first")
        return
    await ws.accept()
    since = ws.query_params.get("since")
    client = Client(who.user.id, who.user.username, who.user.endpoint, who.supervisor)
    missed = services.hub.attach(client, int(since) if since and since.isdigit() else None)
    try:
        if missed is None:
            seq = services.hub.next_seq()
            await ws.send_json({"seq": seq, "type": "snapshot", "data": snapshot(services, who)})
        else:
            for msg in missed:
                await ws.send_text(msg.text)
        await _pump(ws, client)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        services.hub.detach(client)


async def _pump(ws: WebSocket, client: Client) -> None:
    """Send the client's messages; stop as soon as the browser goes away (the reader
    ends) rather than at the next send, so a closed tab leaves the hub at once."""
    reader = asyncio.create_task(_drain_incoming(ws), name=f"ws-read-{client.username}")
    try:
        while True:
            getter = asyncio.create_task(client.queue.get(), name=f"ws-next-{client.username}")
            done, _ = await asyncio.wait({getter, reader}, timeout=HEARTBEAT,
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                if reader in done:
                    return
                await ws.send_json({"seq": None, "type": "ping", "data": {}})
                continue
            if not await _send_ready(ws, client, getter.result()):
                return
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _send_ready(ws: WebSocket, client: Client, msg: Message | None) -> bool:
    """Send `msg` and whatever queued behind it, without a task per message; each is
    text the hub encoded once for everyone. False once the client was cut off."""
    while msg is not None:
        await ws.send_text(msg.text)
        if client.queue.empty():
            return True
        msg = client.queue.get_nowait()
    await ws.close(code=4408, reason="too slow; reconnect for a snapshot")  # dropped as too slow
    return False


async def _drain_incoming(ws: WebSocket) -> None:
    """The client sends nothing we act on; reading notices a closed socket."""
    while True:
        await ws.receive_text()
