"""Events the ticket layer publishes on the bus (for the console's ticket.created
and ticket.updated, and the wallboard's survey.answered).

Layer: domain. Frozen dataclasses, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class TicketCreated:
    linkedid: str
    ticket_id: int
    ticket_number: str
    contact_id: int | None
    agent: str | None
    site: str = "main"  # the entry site of the call (tickets.sites)


@dataclass(frozen=True, slots=True)
class TicketUpdated:
    """A ticket after an edit or an escalation, as the console shows it: exactly the
    fields of tickets.desk.ticket_dict (`of` refuses a dict with other keys, so the
    two cannot drift apart silently); `json()` is that dict again."""

    id: int
    number: str
    subject: str
    description: str
    status: str
    priority: str
    level: int
    team: str
    assignee: str
    category: str
    channel: str
    first_contact_resolution: bool
    contact_id: int | None
    linkedid: str | None
    due_at: datetime | None
    overdue: bool
    created_at: datetime
    updated_at: datetime
    version: int
    organisation_id: int | None = None  # a mail or form ticket from an address no contact has
    department_id: int | None = None  # its work queue (tickets.level_models)
    level_due_at: datetime | None = None  # when its level's resolution target is up
    level_overdue: bool = False
    taskforce_at: datetime | None = None  # when the task-force alarm went out
    resolved_at: datetime | None = None
    csat: int | None = None  # the caller's survey answer, 1-5
    site: str = "main"  # the entry site of the call that made it (tickets.sites)

    @classmethod
    def of(cls, ticket: Mapping[str, Any]) -> TicketUpdated:
        names = [f.name for f in fields(cls)]
        if set(ticket) != set(names):
            raise ValueError(f"a ticket has exactly the fields {names}, not {sorted(ticket)}")
        values: dict[str, Any] = {name: datetime.fromisoformat(ticket[name])
                                  if name in _TIMES and ticket[name] is not None else ticket[name]
                                  for name in names}
        return cls(**values)

    def json(self) -> dict[str, Any]:
        return {f.name: _iso(getattr(self, f.name)) if f.name in _TIMES else getattr(self, f.name)
                for f in fields(self)}


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    """A caller's survey answer (1-5) stored on a ticket, with today's mean and count
    (the wallboard's CSAT tile). Made on the bridge instance (FastAGI `survey`) and
    relayed to web-only instances, so every wallboard hears it."""

    ticket_id: int
    csat: int
    today_average: float | None
    today_count: int

    def json(self) -> dict[str, Any]:
        """The `survey.answered` message's data."""
        return {"ticket_id": self.ticket_id, "csat": self.csat,
                "today": {"average": self.today_average, "count": self.today_count}}


@dataclass(frozen=True, slots=True)
class CallbacksWaiting:
    """The callbacks of one queue not yet done (virtual places waiting or being dialled):
    how many, and since when the oldest one's caller has waited (when they joined the
    queue). Published by the callback dispatcher on every round, relayed to web-only
    instances, shown on the wallboard."""

    queue: str
    count: int
    oldest_since: datetime | None

    def json(self) -> dict[str, Any]:
        return {"count": self.count, "oldest_since": _iso(self.oldest_since)}


_TIMES = frozenset({"due_at", "created_at", "updated_at", "level_due_at", "taskforce_at", "resolved_at"})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
