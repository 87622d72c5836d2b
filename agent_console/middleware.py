"""ASGI middleware: security headers, request-body limits, trusted proxies.

Layer: edge (plain ASGI around the FastAPI app). Must not import routes or
services. `install(app, settings, route_limits)` is the one line create_app calls.

- Every HTTP response gets a Content-Security-Policy that allows only this
  origin (no inline script, no framing), X-Frame-Options DENY,
  X-Content-Type-Options nosniff and Referrer-Policy same-origin; every /api/
  response also Cache-Control: no-store, so Back after logout shows nothing.
- A request body larger than its route allows is refused with 413 before it is
  read: at once when Content-Length says so, otherwise as soon as the bytes
  read pass the limit (nothing is buffered beyond it, nothing parsed). The
  default is HOTLINE_MAX_BODY_BYTES (1 MiB); logging in and changing a password
  take 16 KiB, the CSV import its own 50 MiB.
- X-Forwarded-For is believed only from HOTLINE_TRUSTED_PROXIES (empty by
  default: the client is the TCP peer, whatever a header says).
- A WebSocket's scope keeps the server's own `send` (ws_direct.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_console.settings import Settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {"content-security-policy": CSP, "x-frame-options": "DENY",
           "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}
SMALL = 16 * 1024  # a username and a password in JSON (at most ~1 KiB) with room to spare
ROUTE_LIMITS = {"/api/session": SMALL, "/api/me/password": SMALL}
SERVER_SEND = "hotline.server_send"


def install(app: FastAPI, settings: Settings, route_limits: dict[str, int]) -> None:
    """`route_limits`: body limits of routes that take more than the default (path: bytes)."""
    # the last added runs first: proxies, then headers (so a 413 has them too), then limits
    app.add_middleware(BodyLimit, default=settings.max_body_bytes, routes={**ROUTE_LIMITS, **route_limits})
    app.add_middleware(SecurityHeaders)
    if settings.trusted_proxies.strip():
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.add_middleware(KeepServerSend)  # outermost of ours: the server's own send, untouched


class KeepServerSend:
    """A WebSocket's ASGI `send` as the server gave it, kept in the scope under
    SERVER_SEND (the framework wraps the one a route sees): agent_console/ws_direct.py
    finds the socket's protocol through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SERVER_SEND] = send
        await self.app(scope, receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if api:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(HTTPException):
    """Raised from `receive`: FastAPI passes HTTPExceptions through its body parsing,
    so the route's own error handler answers 413."""

    def __init__(self, limit: int) -> None:
        # close: the rest of the body is not wanted, and the peer may still be sending it
        super().__init__(413, f"request body larger than {limit:,} bytes", headers={"Connection": "close"})


class BodyLimit:
    def __init__(self, app: ASGIApp, default: int, routes: dict[str, int]) -> None:
        self.app, self.default, self.routes = app, default, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get(scope["path"], self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(limit, scope, receive, send)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watch)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(limit, scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    refusal = BodyTooLarge(limit)
    body: dict[str, Any] = {"detail": refusal.detail}
    await JSONResponse(body, status_code=413, headers=refusal.headers)(scope, receive, send)
