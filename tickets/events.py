"""Events the ticket layer publishes on the bus (for the console's ticket.created).

Layer: domain. Frozen dataclasses, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TicketCreated:
    linkedid: str
    ticket_id: int
    ticket_number: str
    contact_id: int | None
    agent: str | None
