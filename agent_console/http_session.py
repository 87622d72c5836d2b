"""Logging in and out, the caller's sessions, a password change; GET /api/me.

Layer: edge. POST /api/session goes through the login guard (throttle counted
before the password check, argon2 on its own threads) and starts a server-side
session; the cookie (HttpOnly, SameSite=Strict) holds only its random token and
the CSRF token is returned in the body so the page can echo it on writes.
DELETE /api/session ends the session on the server; GET /api/sessions lists the
caller's own sessions and DELETE /api/sessions/{id} ends one of them; a password
change ends them all and starts a fresh one for the browser that made it.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from agent_console.auth import ANY, COOKIE, SessionUser, origin_allowed
from agent_console.services import Services, ServicesDep
from tickets.user_sessions import SessionRecord
from tickets.users import MIN_PASSWORD, UserError, UserView

router = APIRouter(tags=["session"])
MAX_ID = 2**31 - 1


class LoginBody(BaseModel):
    # no control characters: PostgreSQL refuses NUL in a query (a 500), and no username has them
    username: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")
    password: str = Field(min_length=1, max_length=256)


class PasswordBody(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=MIN_PASSWORD, max_length=256)


def user_json(user: UserView, csrf: str) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "role": user.role.value, "endpoint": user.endpoint, "extension": user.extension,
            "teams": list(user.teams), "language": user.language, "site": user.site, "partner": user.partner,
            "csrf_token": csrf}


def session_json(record: SessionRecord, services: Services, current_id: int) -> dict[str, Any]:
    idle_until = record.idle_until(services.sessions.store.limits.idle)
    return {"id": record.id, "current": record.id == current_id, "created_at": record.created_at.isoformat(),
            "last_seen_at": record.last_seen_at.isoformat(), "expires_at": idle_until.isoformat(),
            "absolute_expires_at": record.expires_at.isoformat(), "user_agent": record.user_agent,
            "address": record.address}


def _address(request: Request) -> str:
    # the TCP peer, or X-Forwarded-For's client when the peer is in HOTLINE_TRUSTED_PROXIES
    return request.client.host if request.client else "?"


async def _start(services: Services, request: Request, response: Response, user: UserView) -> dict[str, Any]:
    token, who = await run_in_threadpool(services.sessions.issue, user,
                                         request.headers.get("user-agent", ""), _address(request))
    response.set_cookie(COOKIE, token, max_age=services.sessions.lifetime_seconds, httponly=True,
                        samesite="strict", secure=services.settings.cookie_secure, path="/")
    return user_json(user, who.csrf)


@router.post("/api/session")
async def login(body: LoginBody, request: Request, response: Response, services: ServicesDep) -> dict[str, Any]:
    origin = request.headers.get("origin")
    if origin and not origin_allowed(origin, request.headers.get("host"),
                                     services.settings.allowed_origins):
        raise HTTPException(403, "login from another site refused")
    verify = functools.partial(services.users.authenticate, body.username, body.password)
    user = await services.login.check(body.username, _address(request), verify)
    return await _start(services, request, response, user)


@router.delete("/api/session")
def logout(who: Annotated[SessionUser, ANY], services: ServicesDep, response: Response) -> dict[str, str]:
    services.sessions.end(who.session_id)
    response.delete_cookie(COOKIE, path="/")
    return {"status": "logged out"}


@router.get("/api/me")
async def me(who: Annotated[SessionUser, ANY]) -> dict[str, Any]:  # no I/O: answered on the loop
    return user_json(who.user, who.csrf)


@router.get("/api/sessions")
def my_sessions(who: Annotated[SessionUser, ANY], services: ServicesDep) -> list[dict[str, Any]]:
    """The caller's own live sessions, newest first; `current` marks this one."""
    return [session_json(r, services, who.session_id) for r in services.sessions.list_for(who.user.id)]


@router.delete("/api/sessions/{session_id}")
def end_session(session_id: Annotated[int, Path(ge=1, le=MAX_ID)], who: Annotated[SessionUser, ANY],
                services: ServicesDep, response: Response) -> dict[str, Any]:
    if not services.sessions.end(session_id, who.user.id):
        raise HTTPException(404, f"no session {session_id} of yours")
    if session_id == who.session_id:
        response.delete_cookie(COOKIE, path="/")
    return {"id": session_id, "status": "ended"}


@router.post("/api/me/password")
async def change_password(body: PasswordBody, who: Annotated[SessionUser, ANY], request: Request,
                          response: Response, services: ServicesDep) -> dict[str, Any]:
    """Ends every session of the user (other browsers are logged out) and starts a
    new one here. A wrong current password counts as a failed login (403)."""
    verify = functools.partial(services.users.authenticate, who.user.username, body.current_password)
    try:
        await services.login.check(who.user.username, _address(request), verify)
    except HTTPException as exc:
        if exc.status_code != 401:
            raise
        raise HTTPException(403, "the current password is wrong") from exc
    try:
        await run_in_threadpool(services.users.set_password, who.user.id, body.new_password)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from exc
    services.sessions.forget_user(who.user.id)  # the rows went in set_password's transaction
    return await _start(services, request, response, who.user)
