"""Call records (agents see their own calls, supervisors all), the transfer directory
and blind transfer to a target checked against it (agent_console.directory).

Layer: edge.
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import from_thread, to_thread
from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from agent_console.access import viewer
from agent_console.actions import run_action
from agent_console.auth import ANY, SessionUser
from agent_console.directory import directory, transfer_extension
from agent_console.fields import AwareTime
from agent_console.services import ServicesDep
from agent_console.site_phone import own_endpoint
from cti import actions
from cti.events import Outcome
from tickets.desk import DeskError
from tickets.events import TicketUpdated
from tickets.linking import link_call
from tickets.sites import SiteError, call_ref, parse_call_ref
from tickets.visibility import may_see_call

router = APIRouter(tags=["calls"])
PRINTABLE = r"^[^\x00-\x1f]*$"  # PostgreSQL refuses NUL in a query: a 422 here, not a 500
LinkedId = Annotated[str, Path(max_length=64, pattern=PRINTABLE)]


class TransferIn(BaseModel):
    target: str = Field(min_length=1, max_length=40)


class LinkIn(BaseModel):
    contact_id: int = Field(ge=1, le=2**31 - 1)


def _mine(who: SessionUser, call: dict[str, Any]) -> bool:
    """A supervisor's, or the agent's own: taken by their endpoint at their phone's site."""
    return may_see_call(viewer(who), call.get("agent"), call.get("site"))


@router.get("/api/calls")
def list_calls(services: ServicesDep, who: Annotated[SessionUser, ANY], since: AwareTime | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               queue: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
               outcome: Outcome | None = None) -> list[dict[str, Any]]:
    return services.desk.calls(since=since, limit=limit, queue=queue, outcome=outcome, viewer=viewer(who))


def _one_call(ref: str, services: ServicesDep, who: SessionUser) -> dict[str, Any]:
    """The call `ref` names (`site:linkedid`, or a bare Linkedid when only one site has it)
    among those the user may see: 404 none, 409 with the `site:linkedid` candidates when
    the bare Linkedid is at several sites, 422 a malformed site."""
    try:
        site, linkedid = parse_call_ref(ref)
    except SiteError as exc:
        raise HTTPException(422, str(exc)) from exc
    calls = [c for c in services.desk.find_calls(linkedid, site) if _mine(who, c)]
    if not calls:
        raise HTTPException(404, f"no call {ref}")
    if len(calls) > 1:
        candidates = [call_ref(c["site"], c["linkedid"]) for c in calls]
        raise HTTPException(409, {"message": f"call {linkedid} is at several sites: name one as site:linkedid",
                                  "candidates": candidates})
    return calls[0]


@router.get("/api/calls/{linkedid}")
def get_call(linkedid: LinkedId, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    return _one_call(linkedid, services, who)


@router.post("/api/calls/{linkedid}/contact")
def link_contact(linkedid: LinkedId, body: LinkIn, services: ServicesDep,
                 who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """The call's caller is this contact (e.g. a withheld caller found by search): the call
    record gets it, and its ticket too when that has none (published as ticket.updated).
    The agent who took the call or a supervisor; for anyone else the call does not exist."""
    call = _one_call(linkedid, services, who)
    try:
        record, ticket = link_call(services.desk.sessions, call["linkedid"], body.contact_id, who.user.username,
                                   site=call["site"])
    except DeskError as exc:
        raise HTTPException(422, str(exc)) from exc
    if ticket is not None:
        from_thread.run(services.bus.publish, TicketUpdated.of(ticket))
    return {"call": record, "ticket": ticket}


@router.get("/api/directory")
def get_directory(services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """Where a call can be transferred: this site's agents (with their live state; a
    transfer goes through this site's Asterisk, whose PJSIP/1001 is this site's), queues,
    and whether external numbers are reachable."""
    registry = services.pbx.registry if services.pbx else None  # a web-only instance may have none yet
    agents = registry.agent_list() if registry else []
    return directory(services.users.with_endpoints(services.settings.site), agents, services.settings.queue_name,
                     services.settings.dial_allow_list)


@router.post("/api/calls/{linkedid}/transfer")
async def transfer(linkedid: LinkedId, body: TransferIn, services: ServicesDep,
                   who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """Blind transfer of the agent's current call to a directory target (agent, queue,
    allowed external number): anything else is a 422 before anything reaches Asterisk.
    The agent's own leg comes from the call registry (on a web-only instance its mirror):
    nothing here asks Asterisk for a channel listing or reads AMI fields. An agent whose
    phone is at another site gets a 409 `phone_elsewhere` (this site's call is not theirs)."""
    site = services.settings.site
    endpoint = own_endpoint(who.user, site)
    users = await to_thread.run_sync(services.users.with_endpoints, site)
    exten = transfer_extension(body.target, endpoint, users, services.settings.queue_name,
                               services.settings.dial_allow_list)
    call = services.pbx.registry.call(linkedid) if services.pbx else None
    if call is None or call.agent != endpoint or call.ended_at:
        raise HTTPException(409, "you are not on this call")
    if call.agent_channel is None:
        raise HTTPException(409, "the call's agent channel is gone")
    try:
        action = actions.blind_transfer(call.agent_channel, exten, services.settings.dial_allow_list)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return await run_action(services, action)
