"""Callbacks: the callers who gave up waiting (abandoned, timed out, after hours),
and "call back": the agent's phone rings, then it dials the caller.

Layer: edge. The items are made by tickets.calls_service; this lists them and
closes them. Every agent sees them: a callback is the hotline's shared work, about
a caller nobody has talked to yet (no other agent's conversation or notes).
"Call back" is POST /api/agent/dial's Originate (the dial allow-list applies: a
number it does not reach is a 422 and the item keeps the reason, `refused`) and
closes the item once Asterisk accepted the Originate.
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Path, Query

from agent_console.actions import run_action
from agent_console.auth import ANY, SessionUser
from agent_console.errors import CodedError
from agent_console.services import Services, ServicesDep
from agent_console.site_phone import own_endpoint
from cti import actions
from cti.dial_allow import DialRefused
from tickets.callback_places import CallbackPlaces
from tickets.desk import NotFound

router = APIRouter(tags=["callbacks"])
CallbackId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/api/callbacks")
def list_callbacks(services: ServicesDep, who: Annotated[SessionUser, ANY],
                   status: Annotated[str, Query(pattern="^(open|done)$")] = "open",
                   limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[dict[str, Any]]:
    """Longest waiting first."""
    return services.desk.callbacks(status=status, limit=limit)


def _item(services: Services, callback_id: int) -> dict[str, Any]:
    item = services.desk.callback(callback_id)
    if item is None:
        raise HTTPException(404, f"no callback {callback_id}")
    return item


def _complete(services: Services, callback_id: int, actor: str) -> dict[str, Any]:
    try:
        return services.desk.complete_callback(callback_id, actor)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc


@router.post("/api/callbacks/{callback_id}/done")
def done(callback_id: CallbackId, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """Close the item without calling (the caller called again, or was reached otherwise)."""
    return _complete(services, callback_id, who.user.username)


@router.post("/api/callbacks/{callback_id}/call")
async def call_back(callback_id: CallbackId, services: ServicesDep,
                    who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """Ring the agent's own phone, then dial the caller; the item is closed. Only at an
    instance of the phone's site (elsewhere its endpoint is another agent's phone: 409)."""
    endpoint = own_endpoint(who.user, services.settings.site)
    item = await to_thread.run_sync(_item, services, callback_id)
    if item["status"] == "done":
        raise CodedError(409, "callback_done", f"callback {callback_id} is done already")
    allow = services.settings.dial_allow_list
    try:
        action = actions.originate(endpoint, item["caller_number"], allow)
    except ValueError as exc:
        if isinstance(exc, DialRefused):  # the item says why it was not called
            reason = allow.refusal(actions.dial_number(item["caller_number"])) or str(exc)
            await to_thread.run_sync(CallbackPlaces(services.desk.sessions).refuse, callback_id, reason)
        raise CodedError(422, "dial_refused", str(exc)) from exc
    result = await run_action(services, action)
    return {**result, "callback": await to_thread.run_sync(_complete, services, callback_id, who.user.username)}
