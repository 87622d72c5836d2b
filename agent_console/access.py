"""Ticket and call visibility at the edge: the session's user as a tickets.visibility
Viewer, and the check the ticket routes make before reading or changing one.

Layer: edge. The rule itself is tickets/visibility.py; an invisible ticket is a 404,
exactly like a missing one (as calls are), so its existence is not disclosed.
"""

from __future__ import annotations

from fastapi import HTTPException

from agent_console.services import Services
from agent_console.sessions import SessionUser
from tickets.visibility import Viewer, may_see, ticket_parties


def viewer(who: SessionUser) -> Viewer:
    user = who.user
    return Viewer.of(user.username, user.role, user.endpoint, user.teams, user.site)


def check_ticket(services: Services, who: SessionUser, ticket_id: int) -> None:
    """404 unless the ticket exists and the user may see (and so edit) it."""
    if who.supervisor:
        return  # everything: the route's own lookup answers 404 for a missing one
    parties = ticket_parties(services.desk.sessions, ticket_id)
    if parties is None or not may_see(viewer(who), parties):
        raise HTTPException(404, f"no ticket {ticket_id}")
