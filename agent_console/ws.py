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
from agent_console.hub import Client
from agent_console.services import Services

router = APIRouter()
HEARTBEAT = 20.0


def agent_names(services: Services) -> dict[str, str]:
    """Endpoint -> the user's display name, for the wallboard (Asterisk knows only the
    queue member name). Reads the database: call it off the event loop."""
    return {u.endpoint: u.display_name for u in services.users.all() if u.endpoint and u.display_name}


def snapshot(services: Services, who: SessionUser, names: dict[str, str] | None = None) -> dict[str, Any]:
    """`server_time`: when this was taken, on the server's clock; the page runs every
    live timer against it (never against the time of replayed messages)."""
    now = services.clock()
    registry = services.pbx.registry if services.pbx else None
    me = next((a for a in (registry.agent_list() if registry else []) if a.agent == who.user.endpoint), None)
    current = None
    if registry and who.user.endpoint:
        current = next((views.call_json(c) for c in registry.calls()
                        if c.agent == who.user.endpoint and c.ended_at is None), None)
        if current is not None:  # a reloaded console gets its call's ticket back
            current["ticket_id"] = services.notifier.pops.get(current["linkedid"], {}).get("ticket_id")
    data: dict[str, Any] = {
        "user": {"username": who.user.username, "role": who.user.role.value,
                 "endpoint": who.user.endpoint},
        "agent": views.agent_json(me, now) if me else None,
        "ringing": services.notifier.ringing_for(who.user.endpoint),
        "current_call": current,
        "pbx_connected": bool(services.pbx and services.pbx.connected),
        "server_time": views.iso(now),
    }
    if who.supervisor:
        data["queues"] = services.notifier.queue_views()
        data["agent_names"] = names or {}
    return data


@router.websocket("/ws")
async def feed(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
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
    names = await asyncio.to_thread(agent_names, services) if who.supervisor else None
    client = Client(who.user.id, who.user.username, who.user.endpoint, who.supervisor)
    missed = services.hub.attach(client, int(since) if since and since.isdigit() else None)
    try:
        if missed is None:
            seq = services.hub.next_seq()
            await ws.send_json({"seq": seq, "type": "snapshot", "data": snapshot(services, who, names)})
        else:
            for msg in missed:
                await ws.send_json(msg.wire())
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
            getter = asyncio.ensure_future(client.queue.get())
            done, _ = await asyncio.wait({getter, reader}, timeout=HEARTBEAT,
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                if reader in done:
                    return
                await ws.send_json({"seq": None, "type": "ping", "data": {}})
                continue
            msg = getter.result()
            if msg is None:  # dropped as too slow
                await ws.close(code=4408, reason="too slow; reconnect for a snapshot")
                return
            await ws.send_json(msg.wire())
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _drain_incoming(ws: WebSocket) -> None:
    """The client sends nothing we act on; reading notices a closed socket."""
    while True:
        await ws.receive_text()
