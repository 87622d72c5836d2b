"""The agent's own phone: pause with reason, unpause, queue login/logout, click-to-dial,
and more time for wrap-up (a pause with the wrap-up reason; /unpause ends it).

Layer: edge. Every value goes through cti.actions' validators (no CR/LF
reaches AMI, a number to dial must be on HOTLINE_DIAL_ALLOW); an agent can
only act on the endpoint stored with their user, and only at an instance of
their phone's site (agent_console/site_phone.py: elsewhere a 409 `phone_elsewhere`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from agent_console.actions import run_action
from agent_console.auth import ANY, SessionUser
from agent_console.services import Services, ServicesDep
from agent_console.site_phone import own_endpoint
from cti import actions
from tickets.routing import member_penalty, parse_teams

router = APIRouter(tags=["agent"])


class PauseIn(BaseModel):
    reason: str = Field("", max_length=64)


class DialIn(BaseModel):
    number: str = Field(min_length=1, max_length=40)


def _endpoint(services: Services, who: SessionUser) -> str:
    return own_endpoint(who.user, services.settings.site)


async def _run(services: Services, build: Callable[[], actions.Action]) -> dict[str, Any]:
    try:
        action = build()
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return await run_action(services, action)


@router.post("/api/agent/pause")
async def pause(body: PauseIn, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    ep = _endpoint(services, who)
    return await _run(services, lambda: actions.queue_pause(ep, services.settings.queue_name, body.reason))


@router.post("/api/agent/wrap-up")
async def wrap_up(services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """More time after a call: stay out of the queue when Asterisk's wrapuptime ends,
    until /api/agent/unpause ("ready")."""
    ep = _endpoint(services, who)
    return await _run(services, lambda: actions.wrap_up_pause(ep, services.settings.queue_name))


@router.post("/api/agent/unpause")
async def unpause(services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    ep = _endpoint(services, who)
    return await _run(services, lambda: actions.queue_unpause(ep, services.settings.queue_name))


@router.post("/api/agent/queue-login")
async def queue_login(services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    ep = _endpoint(services, who)
    name = who.user.username
    # the focus-team band the FastAGI route sends this agent's callers to (tickets/routing.py)
    penalty = member_penalty(who.user.teams, who.user.languages, parse_teams(services.settings.focus_teams))
    return await _run(services, lambda: actions.queue_add(ep, services.settings.queue_name, name, penalty))


@router.post("/api/agent/queue-logout")
async def queue_logout(services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    ep = _endpoint(services, who)
    return await _run(services, lambda: actions.queue_remove(ep, services.settings.queue_name))


@router.post("/api/agent/dial")
async def dial(body: DialIn, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    ep = _endpoint(services, who)
    return await _run(services, lambda: actions.originate(ep, body.number, services.settings.dial_allow_list))
