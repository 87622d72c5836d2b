"""The ticket list with views, filters, full-text search and paging; a ticket's calls.

Layer: edge. The query is tickets/ticket_search.py, always within what the
session's user may see (tickets/visibility.py). The body stays a JSON list (the
design contract); `X-Total-Count` says how many match in all, for paging.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from agent_console.access import check_ticket, viewer
from agent_console.auth import ANY, SessionUser
from agent_console.errors import CodedError
from agent_console.fields import OneLine
from agent_console.services import ServicesDep
from cti.callerid import normalize
from tickets import ticket_search
from tickets.models import Priority, TicketStatus
from tickets.ticket_search import TicketQuery, View

router = APIRouter(tags=["tickets"])
MAX_ID = 2**31 - 1


def _number(raw: str | None, region: str) -> str | None:
    if raw is None or not raw.strip():
        return None
    found = normalize(raw, region)
    if not (found.e164 or found.extension):
        raise CodedError(422, "bad_number", f"number: {raw!r} is not a phone number")
    return found.e164 or found.extension


@router.get("/api/tickets")
def list_tickets(services: ServicesDep, who: Annotated[SessionUser, ANY], response: Response,
                 view: View = View.ALL, status: TicketStatus | None = None,
                 level: Annotated[int | None, Query(ge=1, le=3)] = None,
                 team: Annotated[OneLine | None, Query(max_length=100)] = None,
                 priority: Priority | None = None,
                 number: Annotated[OneLine | None, Query(max_length=40)] = None,
                 q: Annotated[OneLine, Query(max_length=200)] = "",
                 contact_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None, overdue: bool | None = None,
                 department: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> list[dict[str, Any]]:
    """Newest first. `view`: all | mine (open, owned) | team (open, my teams) | escalated
    (open, level 2/3) | overdue | department (open, my departments); `department`: one
    department's tickets (by id; with `level`, its queue per level); `q`: every word in
    subject or description."""
    query = TicketQuery(view=view, status=status, level=level, team=team or None, priority=priority,
                        number=_number(number, services.settings.default_region), q=q,
                        contact_id=contact_id, overdue=overdue, department_id=department)
    found, total = ticket_search.search(services.desk.sessions, query, viewer(who), datetime.now(UTC),
                                        limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return found


@router.get("/api/tickets/{ticket_id}/calls")
def ticket_calls(ticket_id: Annotated[int, Path(ge=1, le=MAX_ID)], services: ServicesDep,
                 who: Annotated[SessionUser, ANY]) -> list[dict[str, Any]]:
    """The ticket's calls (those the user may see: an agent their own), newest first."""
    check_ticket(services, who, ticket_id)
    ticket = services.desk.ticket(ticket_id)
    if ticket is None:
        raise CodedError(404, "not_found", f"no ticket {ticket_id}")
    return ticket_search.ticket_calls(services.desk.sessions, ticket_id, ticket["linkedid"], viewer(who),
                                     ticket["site"])
