"""The ticket fields an agent may change and their checks, and the desk's errors.

Layer: domain (the contact and department checks look the id up in the session they
are given). Used by tickets.desk; its names are re-exported there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tickets.field_error import FieldError
from tickets.level_models import Department
from tickets.models import Channel, Contact, Priority, TicketStatus

EDITABLE = ("subject", "description", "status", "priority", "category", "assignee", "team",
            "contact_id", "first_contact_resolution", "department_id")
_TEXT_LIMITS = {"subject": 300, "description": 20_000, "category": 100, "assignee": 100, "team": 100}
_ENUMS: dict[str, type[TicketStatus] | type[Priority] | type[Channel]] = {
    "status": TicketStatus, "priority": Priority, "channel": Channel}
MAX_LIMIT = 1000


class DeskError(FieldError):
    pass


class NotFound(DeskError):
    pass


class Conflict(DeskError):
    """The ticket's version is not the one the editor read: nothing was changed;
    `ticket` is the ticket as it is now."""

    def __init__(self, ticket: dict[str, Any]) -> None:
        super().__init__("version", f"the ticket is at version {ticket['version']}")
        self.ticket = ticket


def limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise DeskError("limit", "must be a positive whole number")
    return min(limit, MAX_LIMIT)


def aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise DeskError(name, "must be a timezone-aware time")
    return value


def actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip() or len(actor.strip()) > 100:
        raise DeskError("actor", "must be 1-100 characters")
    return actor.strip()


def enum_value(name: str, value: Any) -> Any:
    kind = _ENUMS[name]
    try:
        return kind(value)
    except ValueError:
        raise DeskError(name, f"must be one of {', '.join(m.value for m in kind)}, not {value!r}") from None


def _text_value(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise DeskError(name, "must be text")
    text: str = value.strip() if name == "subject" else value
    if name == "subject" and not text:
        raise DeskError(name, "must not be empty")
    if len(text) > _TEXT_LIMITS[name]:
        raise DeskError(name, f"must be at most {_TEXT_LIMITS[name]} characters")
    return text


def _contact_value(session: Session, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeskError("contact_id", "must be a contact id or null")
    if session.get(Contact, value) is None:
        raise DeskError("contact_id", f"no contact {value}")
    return value


def _department_value(session: Session, value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or session.get(Department, value) is None):
        raise DeskError("department_id", f"no department {value!r}")
    return value


def validate(session: Session, name: str, value: Any) -> Any:
    if name not in EDITABLE:
        raise DeskError(name, f"cannot be changed (editable: {', '.join(EDITABLE)})")
    if name in _ENUMS:
        return enum_value(name, value)
    if name in _TEXT_LIMITS:
        return _text_value(name, value)
    if name == "contact_id":
        return _contact_value(session, value)
    if name == "department_id":
        return _department_value(session, value)
    if not isinstance(value, bool):
        raise DeskError(name, "must be true or false")
    return value
