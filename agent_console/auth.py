"""Sessions, roles, CSRF and the login rate limit.

Layer: edge (HTTP). A session is a signed, timestamped cookie (HttpOnly,
SameSite=Strict) holding the user id and a CSRF token; every write made with
the cookie must echo that token in the `X-CSRF-Token` header (double submit),
so another site cannot make a logged-in browser act. Roles are checked on
every route through `require(...)` dependencies, and on the WebSocket.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, WebSocket
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from tickets.models import Role
from tickets.users import UserService, UserView

COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
MAX_AGE = 12 * 3600
_SAFE = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True, slots=True)
class SessionUser:
    user: UserView
    csrf: str

    @property
    def supervisor(self) -> bool:
        return self.user.role in (Role.SUPERVISOR, Role.ADMIN)


class Sessions:
    def __init__(self, secret: str, users: UserService, secure: bool = False) -> None:
        self._codec = URLSafeTimedSerializer(secret, salt="hotline-session")
        self.users, self.secure = users, secure

    def issue(self, user: UserView) -> tuple[str, str]:
        csrf = secrets.token_urlsafe(24)
        return self._codec.dumps({"uid": user.id, "csrf": csrf}), csrf

    def read(self, cookie: str | None) -> SessionUser | None:
        if not cookie:
            return None
        try:
            data: dict[str, Any] = self._codec.loads(cookie, max_age=MAX_AGE)
        except (BadSignature, SignatureExpired):
            return None
        user = self.users.get(int(data.get("uid", 0)))
        return SessionUser(user, str(data.get("csrf", ""))) if user else None


class LoginLimiter:
    """At most `per_minute` failed logins per client address and per username."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._fails: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        fails = self._fails[key]
        while fails and now - fails[0] > 60:
            fails.popleft()
        return fails

    def blocked(self, keys: list[str]) -> bool:
        now = time.monotonic()
        return any(len(self._recent(k, now)) >= self.per_minute for k in keys)

    def failed(self, keys: list[str]) -> None:
        now = time.monotonic()
        for key in keys:
            self._recent(key, now).append(now)


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


def current(request: Request) -> SessionUser:
    found = _sessions(request).read(request.cookies.get(COOKIE))
    if found is None:
        raise HTTPException(401, "log in first: POST /api/session")
    if request.method not in _SAFE and not secrets.compare_digest(
            request.headers.get(CSRF_HEADER, ""), found.csrf):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return found


def require(*roles: Role) -> Any:
    def check(who: Annotated[SessionUser, Depends(current)]) -> SessionUser:
        if roles and who.user.role not in roles:
            raise HTTPException(403, f"needs role {' or '.join(r.value for r in roles)}")
        return who

    return Depends(check)


ANY = require()
SUPERVISOR = require(Role.SUPERVISOR, Role.ADMIN)
ADMIN = require(Role.ADMIN)


def websocket_user(ws: WebSocket, sessions: Sessions) -> SessionUser | None:
    return sessions.read(ws.cookies.get(COOKIE))
