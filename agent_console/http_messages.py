"""A ticket's conversation: the mails, form entries and faxes that came in, with their
attachments, and the mails sent to the caller; the timeline of all of it with the
ticket's calls; attachments to download.

Layer: edge. Every route needs a session and follows the ticket rule
(tickets/visibility.py, agent_console.access): a ticket the user may not see, and
an attachment of one, is a 404 like a missing one.
An attachment is only ever sent as a download (`Content-Disposition: attachment`,
`application/octet-stream`, `nosniff`) under a sandboxing Content-Security-Policy:
a caller's HTML or SVG is never rendered in hotline's origin.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response

from agent_console.access import check_ticket, viewer
from agent_console.auth import ANY, SessionUser
from agent_console.http_tickets import MAX_ID, TicketId
from agent_console.services import ServicesDep
from tickets import ticket_search
from tickets.timeline import merge, with_agent_names

router = APIRouter(tags=["tickets"])


@router.get("/api/tickets/{ticket_id}/messages")
def messages(ticket_id: TicketId, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """`{"messages": [...], "notifications": [...]}`, oldest first."""
    check_ticket(services, who, ticket_id)
    if services.desk.ticket(ticket_id) is None:
        raise HTTPException(404, f"no ticket {ticket_id}")
    return services.conversation.of(ticket_id)


@router.get("/api/tickets/{ticket_id}/timeline")
def timeline(ticket_id: TicketId, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> list[dict[str, Any]]:
    """Calls (those the user may see), mails, form entries, faxes and the mails sent to the
    caller, oldest first: `[{"kind": "call|email|form|fax|notification", "at", "call"|"message"|"notification"}]`;
    a call answered by an agent of this hotline carries `agent_name` (the user's display name)."""
    check_ticket(services, who, ticket_id)
    ticket = services.desk.ticket(ticket_id)
    if ticket is None:
        raise HTTPException(404, f"no ticket {ticket_id}")
    calls = ticket_search.ticket_calls(services.desk.sessions, ticket_id, ticket["linkedid"], viewer(who),
                                       ticket["site"])
    names = {(u.site, u.endpoint): u.display_name for u in services.users.with_endpoints() if u.endpoint}
    return merge(with_agent_names(calls, names), services.conversation.of(ticket_id))


@router.get("/api/attachments/{attachment_id}")
def attachment(attachment_id: Annotated[int, Path(ge=1, le=MAX_ID)], services: ServicesDep,
               who: Annotated[SessionUser, ANY]) -> Response:
    found = services.conversation.attachment(attachment_id)
    if found is None:
        raise HTTPException(404, f"no attachment {attachment_id}")
    ticket_id, name, data = found
    try:
        check_ticket(services, who, ticket_id)
    except HTTPException:
        raise HTTPException(404, f"no attachment {attachment_id}") from None
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "no-store"})
