"""A ticket's conversation: the mails and form entries that came in, with their
attachments, and the mails sent to the caller; attachments to download.

Layer: edge. Every route needs a session (any role: agents work these tickets).
An attachment is only ever sent as a download (`Content-Disposition: attachment`,
`application/octet-stream`, `nosniff`) under a sandboxing Content-Security-Policy:
a caller's HTML or SVG is never rendered in hotline's origin.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response

from agent_console.auth import ANY, SessionUser
from agent_console.http_tickets import MAX_ID, TicketId
from agent_console.services import ServicesDep

router = APIRouter(tags=["tickets"])


@router.get("/api/tickets/{ticket_id}/messages")
def messages(ticket_id: TicketId, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    """`{"messages": [...], "notifications": [...]}`, oldest first."""
    if services.desk.ticket(ticket_id) is None:
        raise HTTPException(404, f"no ticket {ticket_id}")
    return services.conversation.of(ticket_id)


@router.get("/api/attachments/{attachment_id}")
def attachment(attachment_id: Annotated[int, Path(ge=1, le=MAX_ID)], services: ServicesDep,
               who: Annotated[SessionUser, ANY]) -> Response:
    found = services.conversation.attachment(attachment_id)
    if found is None:
        raise HTTPException(404, f"no attachment {attachment_id}")
    name, data = found
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "no-store"})
