"""On-site appointments: book one on a ticket, list a ticket's, and the iCalendar feed.

Layer: edge. Booking follows the ticket rule (who may edit the ticket may book on
it; tickets/visibility.py) and needs the ticket at level 2 or 3. The calendar
export holds only appointments on tickets the user may see; `technician=` narrows
it to one technician (their calendar subscription).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from anyio import from_thread
from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, Field

from agent_console.access import check_ticket, viewer
from agent_console.auth import ANY, SessionUser
from agent_console.fields import Notes, OneLine
from agent_console.services import ServicesDep
from tickets.appointments import to_ics
from tickets.desk import DeskError, NotFound
from tickets.events import TicketUpdated

router = APIRouter(tags=["appointments"])
MAX_ID = 2**31 - 1
TicketId = Annotated[int, Path(ge=1, le=MAX_ID)]


class AppointmentIn(BaseModel):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: OneLine = Field(min_length=1, max_length=300)
    technician: OneLine = Field(min_length=1, max_length=64)
    note: Notes = Field("", max_length=2000)


@router.post("/api/tickets/{ticket_id}/appointments", status_code=201)
def book(ticket_id: TicketId, body: AppointmentIn, services: ServicesDep,
         who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    check_ticket(services, who, ticket_id)
    try:
        appointment, ticket = services.appointments.book(
            ticket_id, body.starts_at, body.ends_at, body.place, body.technician, body.note,
            who.user.username, services.clock())
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except DeskError as exc:
        raise HTTPException(422, str(exc)) from exc
    from_thread.run(services.bus.publish, TicketUpdated.of(ticket))
    return appointment


@router.get("/api/tickets/{ticket_id}/appointments")
def of_ticket(ticket_id: TicketId, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> list[dict[str, Any]]:
    check_ticket(services, who, ticket_id)
    try:
        return services.appointments.of_ticket(ticket_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/api/appointments.ics", response_class=Response,
            responses={200: {"content": {"text/calendar": {}}}})
def calendar(services: ServicesDep, who: Annotated[SessionUser, ANY],
             technician: Annotated[OneLine | None, Query(max_length=64)] = None,
             start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
             end: Annotated[AwareDatetime | None, Query(alias="to")] = None) -> Response:
    """iCalendar (RFC 5545): appointments starting in [from, to) (default: 30 days back,
    365 ahead), optionally one technician's."""
    now = services.clock()
    start = start or now - timedelta(days=30)
    end = end or now + timedelta(days=365)
    try:
        found = services.appointments.between(start.astimezone(UTC), end.astimezone(UTC), viewer(who),
                                              technician or None)
    except DeskError as exc:
        raise HTTPException(422, str(exc)) from exc
    return Response(to_ics(found, services.settings.mail_domain, datetime.now(UTC)),
                    media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="appointments.ics"',
                             "Cache-Control": "no-store"})
