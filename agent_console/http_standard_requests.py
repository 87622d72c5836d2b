"""Standard requests: the templates, and applying one for a contact (a ticket made and
closed as solved on first contact; tickets/standard_requests.py).

Layer: edge. Any logged-in agent may apply one (they are the first-contact work);
the ticket's creator is the agent, so it is theirs by the ticket rule. Bad answers
are 422 naming the field; an unknown contact 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import from_thread
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from agent_console.auth import ANY, SessionUser
from agent_console.errors import CodedError
from agent_console.fields import OneLine
from agent_console.services import ServicesDep
from tickets.desk import DeskError
from tickets.events import TicketUpdated
from tickets.models import Channel
from tickets.standard_requests import templates

router = APIRouter(tags=["standard requests"])


class StandardRequestIn(BaseModel):
    template: OneLine = Field(min_length=1, max_length=40)
    contact_id: int = Field(ge=1, le=2**31 - 1)
    fields: dict[Annotated[str, Field(max_length=40)], OneLine] = Field(max_length=10)
    channel: Channel = Channel.PHONE


@router.get("/api/standard-requests")
def list_templates(who: Annotated[SessionUser, ANY]) -> list[dict[str, Any]]:
    """Each template's `key`, `category` and the `fields` it asks for."""
    return templates()


@router.post("/api/standard-requests", status_code=201)
def apply(body: StandardRequestIn, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """The ticket, filled from the template and already resolved (solved on first contact)."""
    try:
        ticket = services.standard_requests.apply(body.template, body.contact_id, body.fields, who.user.username,
                                                  services.clock(), body.channel)
    except DeskError as exc:
        if exc.field.startswith("fields."):  # shown next to its input, like pydantic's own 422s
            raise CodedError(422, "invalid", str(exc), extra={"errors": [
                {"field": f"body.{exc.field}", "error": exc.message, "code": "missing", "params": {}}]}) from exc
        raise HTTPException(422, str(exc)) from exc
    from_thread.run(services.bus.publish, TicketUpdated.of(ticket))
    return ticket
