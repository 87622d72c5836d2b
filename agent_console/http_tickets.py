"""Tickets: create, read, update in place, escalate, history (the list: http_ticket_list.py).

Layer: edge. Validation errors from the desk become 422, unknown ids 404.
An edit or escalation is published on the bus as tickets.events.TicketUpdated:
the notifier makes it the console's `ticket.updated`, and scaled out the Redis
link shares it with every other instance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from anyio import from_thread
from fastapi import APIRouter, Header, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_console.access import check_ticket
from agent_console.auth import ANY, SessionUser
from agent_console.errors import CodedError
from agent_console.fields import Notes, OneLine
from agent_console.services import Services, ServicesDep
from tickets.desk import Conflict, DeskError, TicketDesk
from tickets.events import TicketUpdated
from tickets.models import Channel, Priority, TicketStatus

router = APIRouter(tags=["tickets"])
MAX_ID = 2**31 - 1  # ids are INTEGER columns: a larger number is a 422, not an overflow in the driver
TicketId = Annotated[int, Path(ge=1, le=MAX_ID)]


class _Text(BaseModel):
    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """PostgreSQL cannot store NUL in text: a 422 here, not a 500 from the driver (and the same on SQLite)."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value


class TicketIn(_Text):
    subject: OneLine = Field(min_length=1, max_length=300)
    description: Notes = Field("", max_length=20000)
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    priority: Priority = Priority.NORMAL
    category: OneLine = Field("", max_length=100)
    channel: Channel = Channel.PHONE


class TicketPatch(_Text):
    model_config = ConfigDict(extra="forbid")
    subject: OneLine | None = Field(None, min_length=1, max_length=300)
    description: Notes | None = Field(None, max_length=20000)
    status: TicketStatus | None = None
    priority: Priority | None = None
    category: OneLine | None = Field(None, max_length=100)
    assignee: OneLine | None = Field(None, max_length=100)
    team: OneLine | None = Field(None, max_length=100)
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    first_contact_resolution: bool | None = None
    department_id: int | None = Field(None, ge=1, le=MAX_ID)  # its work queue; null: none


class EscalateIn(_Text):
    level: int = Field(ge=2, le=3)
    reason: OneLine = Field(min_length=1, max_length=500)


def _updated(services: Services, ticket: dict[str, Any]) -> None:
    """On the bus, from this route's worker thread (the bus and the hub live on the loop)."""
    from_thread.run(services.bus.publish, TicketUpdated.of(ticket))


def _found(ticket: dict[str, Any] | None, ticket_id: int) -> dict[str, Any]:
    if ticket is None:
        raise HTTPException(404, f"no ticket {ticket_id}")
    return ticket


def _etag(ticket: dict[str, Any]) -> str:
    return f'"{ticket["version"]}"'


def _expected(if_match: str | None) -> int | None:
    """The version an If-Match names (`"3"`, also weak `W/"3"`); None for none or `*`.
    Anything else can never match the ticket: -1, so a 409 with the current ticket."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    return int(tag) if tag.isascii() and tag.isdigit() and len(tag) < 10 else -1


def _conflict(exc: Conflict) -> CodedError:
    return CodedError(409, "ticket_conflict", "the ticket was changed by someone else since you read it",
                      extra={"ticket": exc.ticket}, headers={"ETag": _etag(exc.ticket)})


def _change(services: Services, who: SessionUser, ticket_id: int, response: Response,
            change: Callable[[TicketDesk], dict[str, Any]]) -> dict[str, Any]:
    """An edit of a ticket the user may see: 404 unknown, 409 changed meanwhile, 422
    refused by the desk; done, it is published and its new ETag sent."""
    check_ticket(services, who, ticket_id)
    _found(services.desk.ticket(ticket_id), ticket_id)
    try:
        ticket = change(services.desk)
    except Conflict as exc:
        raise _conflict(exc) from exc
    except DeskError as exc:
        raise HTTPException(422, str(exc)) from exc
    _updated(services, ticket)
    response.headers["ETag"] = _etag(ticket)
    return ticket


@router.post("/api/tickets", status_code=201)
def create_ticket(body: TicketIn, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    try:
        return services.desk.create(body.subject, who.user.username, contact_id=body.contact_id,
                                     description=body.description, priority=body.priority,
                                     category=body.category, channel=body.channel)
    except DeskError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/api/tickets/{ticket_id}")
def get_ticket(ticket_id: TicketId, services: ServicesDep, who: Annotated[SessionUser, ANY],
               response: Response) -> dict[str, Any]:
    """The ticket, plus its call's `wait_seconds`, `queue_position` (where the caller
    entered the queue) and `talk_seconds`: null until known, or for a ticket without a call."""
    check_ticket(services, who, ticket_id)
    ticket = _found(services.desk.ticket(ticket_id), ticket_id)
    response.headers["ETag"] = _etag(ticket)
    call = services.desk.call(ticket["linkedid"], ticket["site"]) if ticket["linkedid"] else None
    return {**ticket, "wait_seconds": call["wait_seconds"] if call else None,
            "queue_position": (call["position"] or None) if call else None,
            "talk_seconds": call["talk_seconds"] if call else None}


@router.patch("/api/tickets/{ticket_id}")
def update_ticket(ticket_id: TicketId, body: TicketPatch, services: ServicesDep,
                  who: Annotated[SessionUser, ANY], response: Response,
                  if_match: Annotated[str | None, Header(max_length=40)] = None) -> dict[str, Any]:
    """With `If-Match: "n"` (the ETag of GET) the edit applies only to version n: else
    409 `ticket_conflict` with the current `ticket`, and nothing changed."""
    changes = body.model_dump(exclude_unset=True)
    return _change(services, who, ticket_id, response, lambda desk: desk.update(
        ticket_id, changes, who.user.username, expected_version=_expected(if_match)))


@router.post("/api/tickets/{ticket_id}/escalate")
def escalate(ticket_id: TicketId, body: EscalateIn, services: ServicesDep,
             who: Annotated[SessionUser, ANY], response: Response) -> dict[str, Any]:
    return _change(services, who, ticket_id, response, lambda desk: desk.escalate(
        ticket_id, body.level, body.reason, who.user.username))


@router.get("/api/tickets/{ticket_id}/history")
def history(ticket_id: TicketId, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> list[dict[str, Any]]:
    check_ticket(services, who, ticket_id)
    desk = services.desk
    _found(desk.ticket(ticket_id), ticket_id)
    return desk.history(ticket_id)
