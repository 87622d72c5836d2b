"""Who is asking: the session cookie, roles, CSRF, the Origin check.

Layer: edge. The session cookie (HttpOnly, SameSite=Strict) holds a random
token for a server-side session (agent_console/sessions.py); every write made
with it must echo the session's CSRF token in the `X-CSRF-Token` header (double
submit), so another site cannot make a logged-in browser act. Roles are checked
on every route through `require(...)` dependencies, and on the WebSocket. The
login throttle is agent_console/login_limits.py.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from agent_console.sessions import CacheMiss, Sessions, SessionUser
from tickets.models import Role

__all__ = ["ADMIN", "ANY", "COOKIE", "CSRF_HEADER", "SUPERVISOR", "SessionUser", "current", "origin_allowed",
           "require", "session_token"]

COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = {"GET", "HEAD", "OPTIONS"}


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Same host:port as the page, or listed in HOTLINE_ALLOWED_ORIGINS."""
    if not origin:
        return False
    if origin in allowed:
        return True
    return bool(host) and urlsplit(origin).netloc == host


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.services.sessions
    return sessions


def session_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE)


async def current(request: Request) -> SessionUser:
    """The caller's session. Async on purpose: a cached session is answered on the
    event loop, with no hop to the thread pool (which a busy server makes wait);
    only a cache miss reads the database, on a worker thread."""
    sessions, token = _sessions(request), session_token(request)
    found = sessions.peek(token) if token else None
    if isinstance(found, CacheMiss):
        found = await run_in_threadpool(sessions.read, token)
    if found is None:
        raise HTTPException(401, "log in first: POST /api/session")
    if request.method not in _SAFE and not secrets.compare_digest(
            request.headers.get(CSRF_HEADER, ""), found.csrf):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return found


def require(*roles: Role) -> Any:
    async def check(who: Annotated[SessionUser, Depends(current)]) -> SessionUser:
        if roles and who.user.role not in roles:
            raise HTTPException(403, f"needs role {' or '.join(r.value for r in roles)}")
        return who

    return Depends(check)


ANY = require()
SUPERVISOR = require(Role.SUPERVISOR, Role.ADMIN)
ADMIN = require(Role.ADMIN)
