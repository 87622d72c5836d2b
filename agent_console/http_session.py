"""POST/DELETE /api/session (log in / out) and GET /api/me.

Layer: edge. The session cookie is HttpOnly and SameSite=Strict; the CSRF
token is returned in the body so the page can echo it on writes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from agent_console.auth import ANY, COOKIE, MAX_AGE, SessionUser, origin_allowed
from agent_console.services import ServicesDep
from tickets.users import UserView

router = APIRouter(tags=["session"])


class LoginBody(BaseModel):
    # no control characters: PostgreSQL refuses NUL in a query (a 500), and no username has them
    username: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")
    password: str = Field(min_length=1, max_length=256)


def user_json(user: UserView, csrf: str) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "role": user.role.value, "endpoint": user.endpoint, "extension": user.extension,
            "teams": list(user.teams), "language": user.language, "csrf_token": csrf}


@router.post("/api/session")
async def login(body: LoginBody, request: Request, response: Response, services: ServicesDep) -> dict[str, Any]:
    origin = request.headers.get("origin")
    if origin and not origin_allowed(origin, request.headers.get("host"),
                                     services.settings.allowed_origins):
        raise HTTPException(403, "login from another site refused")
    client = request.client.host if request.client else "?"
    keys = [f"ip:{client}", f"user:{body.username.lower()}"]
    if services.limiter.blocked(keys):
        raise HTTPException(429, "too many failed logins; wait a minute")
    user = await run_in_threadpool(services.users.authenticate, body.username, body.password)
    if user is None:
        services.limiter.failed(keys)
        raise HTTPException(401, "wrong username or password")
    cookie, csrf = services.sessions.issue(user)
    response.set_cookie(COOKIE, cookie, max_age=MAX_AGE, httponly=True, samesite="strict",
                        secure=services.settings.cookie_secure, path="/")
    return user_json(user, csrf)


@router.delete("/api/session")
def logout(who: Annotated[SessionUser, ANY], response: Response) -> dict[str, str]:
    response.delete_cookie(COOKIE, path="/")
    return {"status": "logged out"}


@router.get("/api/me")
def me(who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    return user_json(who.user, who.csrf)
