"""GET /ws: the session's live feed. First a `snapshot`, then deltas with `seq`.

Layer: edge. The Origin header is checked before the socket is accepted (4403).
The session is checked at the handshake and again every
HOTLINE_WS_SESSION_CHECK_SECONDS while the socket is open (every socket's in one
round: session_watch.py): without a valid
session, or once it has ended (logout, revoked, expired, idle), the socket is
closed with 4401 (accepted first: a refusal before accepting reaches a browser
as a bare HTTP 403 with no code the page can act on). A session holds at most
HOTLINE_WS_PER_SESSION sockets; the next is closed with 4429. A client that
falls behind is closed with 4408. `?since=N` resumes after message N when the
hub still holds what came after it; otherwise a fresh snapshot. A heartbeat
`ping` goes out when nothing else did for HEARTBEAT seconds (within 2 x HEARTBEAT),
so dead peers are noticed. Broadcasts may skip the sender and go straight onto
an idle socket (ws_direct.py). A client counts as its user's endpoint only when the
user's phone is at this instance's site (site_phone.py): a user of another site gets
no pops of this site's phone of the same name, and a `phone_elsewhere` notice instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from agent_console import views
from agent_console.access import viewer
from agent_console.auth import COOKIE, SessionUser, origin_allowed
from agent_console.hub import ALL, Client, Message, encode
from agent_console.services import Services, ServicesDep
from agent_console.site_phone import elsewhere, local_endpoint
from agent_console.ws_direct import direct_writer

log = logging.getLogger(__name__)
router = APIRouter()
HEARTBEAT = 20.0
SESSION_ENDED = 4401
TOO_MANY_SOCKETS = 4429
PING = Message(0, "ping", {}, ALL, 0.0, encode({"seq": None, "type": "ping", "data": {}}))


def agent_names(services: Services) -> dict[str, str]:
    """Endpoint -> the user's display name, for the wallboard (Asterisk knows only the
    queue member name): this site's users (its Asterisk's endpoints; another site's
    PJSIP/1001 is someone else). Reads the database: call it off the event loop."""
    site = services.settings.site
    return {u.endpoint: u.display_name for u in services.users.all()
            if u.endpoint and u.display_name and u.site == site}


def snapshot(services: Services, who: SessionUser, names: dict[str, str] | None = None) -> dict[str, Any]:
    """`server_time`: when this was taken, on the server's clock; the page runs every
    live timer against it (never against the time of replayed messages)."""
    now = services.clock()
    site = services.settings.site
    endpoint = local_endpoint(who.user, site)  # None: no phone here (none, or at another site)
    registry = services.pbx.registry if services.pbx else None
    me = next((a for a in (registry.agent_list() if registry and endpoint else []) if a.agent == endpoint), None)
    current = None
    if registry and endpoint:
        current = next((views.call_json(c) for c in registry.calls()
                        if c.agent == endpoint and c.ended_at is None), None)
        if current is not None:  # a reloaded console gets its call's ticket back
            current["ticket_id"] = services.notifier.book.ticket_for(current["linkedid"])
    if current is None:  # or the callback it is on
        current = services.notifier.talking_for(endpoint)
    data: dict[str, Any] = {
        "user": {"username": who.user.username, "role": who.user.role.value,
                 "endpoint": who.user.endpoint, "site": who.user.site},
        "agent": views.agent_json(me, now) if me else None,
        "ringing": services.notifier.book.ringing_for(endpoint, viewer(who)),
        "current_call": current,
        "pbx_connected": bool(services.pbx and services.pbx.connected),
        "site": site,  # the site whose bridge this instance follows
        # the user's phone is at another site: calls do not pop here (the console says so)
        "phone_elsewhere": elsewhere(who.user, site),
        "server_time": views.iso(now),
    }
    if who.supervisor:
        data["queues"] = services.wallboard.views()
        data["sites"] = services.site_board.view() if services.site_board else None
        data["agent_names"] = names or {}
    return data


@router.websocket("/ws")
async def feed(ws: WebSocket, services: ServicesDep) -> None:
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"),
                          services.settings.allowed_origins):
        await ws.close(code=4403, reason="origin not allowed")
        return
    token = ws.cookies.get(COOKIE) or ""
    who = await asyncio.to_thread(services.sessions.read, token)
    if who is None:
        await _refuse(ws, SESSION_ENDED, "log in first")
        return
    sockets = services.sessions.sockets
    if sockets[who.session_id] >= services.settings.ws_per_session:
        await _refuse(ws, TOO_MANY_SOCKETS, "too many WebSockets for this session")
        return
    sockets[who.session_id] += 1
    try:
        await ws.accept()
        await _serve(ws, services, who, token)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sockets[who.session_id] -= 1
        if sockets[who.session_id] <= 0:
            del sockets[who.session_id]


async def _refuse(ws: WebSocket, code: int, reason: str) -> None:
    await ws.accept()
    await ws.close(code=code, reason=reason)


async def _serve(ws: WebSocket, services: Services, who: SessionUser, token: str) -> None:
    since = ws.query_params.get("since")
    names = await asyncio.to_thread(agent_names, services) if who.supervisor else None
    client = Client(who.user.id, who.user.username, local_endpoint(who.user, services.settings.site),
                    who.supervisor, frozenset(who.user.teams))
    missed = services.hub.attach(client, int(since) if since and since.isascii() and since.isdigit() else None)
    try:
        if missed is None:
            seq = services.hub.next_seq()
            await ws.send_json({"seq": seq, "type": "snapshot", "data": snapshot(services, who, names)})
        else:
            for msg in missed:
                await ws.send_text(msg.text)
        await _pump(ws, client, services.session_watch.until_over(token))
    finally:
        services.hub.detach(client)


async def _pump(ws: WebSocket, client: Client, session_ends: Coroutine[Any, Any, None]) -> None:
    """Send the client's messages; stop as soon as the browser goes away (the reader
    ends) rather than at the next send, so a closed tab leaves the hub at once, and
    close with 4401 as soon as the session is over. The sender waits on the client's
    queue alone: a broadcast wakes it once, with no task or wait set per message."""
    client.direct = direct_writer(ws)  # from now on: the snapshot or replay is out
    sender = asyncio.create_task(_send(ws, client), name=f"ws-send-{client.username}")
    reader = asyncio.create_task(_drain_incoming(ws), name=f"ws-read-{client.username}")
    watcher = asyncio.create_task(session_ends, name=f"ws-session-{client.username}")
    beat = asyncio.create_task(_heartbeat(client), name=f"ws-beat-{client.username}")
    try:
        done, _ = await asyncio.wait({sender, reader, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if sender in done:
            sender.result()  # a send that failed ends the socket as before
        elif watcher in done and reader not in done:
            await ws.close(code=SESSION_ENDED, reason="session ended; log in again")
    finally:
        client.direct = None
        for task in (sender, reader, watcher, beat):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _heartbeat(client: Client) -> None:
    """A `ping` into the client's queue when nothing went out for HEARTBEAT seconds, so
    dead peers are noticed (the page's watchdog waits 50 s)."""
    while True:
        sent = client.sent
        await asyncio.sleep(HEARTBEAT)
        if client.sent == sent:
            with contextlib.suppress(asyncio.QueueFull):
                client.queue.put_nowait(PING)


async def _send(ws: WebSocket, client: Client) -> None:
    """Send each message as it comes (text the hub encoded once for everyone); return
    once the client was cut off as too slow (closed with 4408)."""
    while (msg := await client.queue.get()) is not None:
        client.busy = True  # the hub writes nothing directly until this one is out
        try:
            await ws.send_text(msg.text)
        finally:
            client.busy = False
        client.sent += 1
    await ws.close(code=4408, reason="too slow; reconnect for a snapshot")  # dropped as too slow


async def _drain_incoming(ws: WebSocket) -> None:
    """The client sends nothing we act on; reading notices a closed socket."""
    while True:
        await ws.receive_text()
