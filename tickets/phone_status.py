"""Ticket status by phone and the survey key: what a caller may hear, what counts.

Layer: domain, pure (no I/O, no clock). The FastAGI scripts `status` and `survey`
(agent_console/agi_ivr.py) read the facts (tickets/phone_status_db.py), ask here,
and send the answer to the dialplan (asterisk-config/extensions_ivr.conf) as
channel variables.

Privacy: a ticket's status is read only to a number of the ticket's own contact.
A keyed ticket number that does not exist and one that belongs to somebody else
get the same answer on the phone ("please hold for an agent"), so the line cannot
be used to find out which ticket numbers exist; the log tells them apart.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_KEYS = 12
_DIGITS = re.compile(r"[0-9]{1,12}")
_FULL = re.compile(r"(20[0-9]{2})([0-9]{6})")  # "2026-000123" keyed as 2026000123
STATES = ("new", "open", "pending", "resolved", "closed")  # prompts hotline/state-<state>
OPEN_STATES = ("new", "open", "pending")


class StatusResult(enum.StrEnum):
    TICKET = "ticket"  # read it
    NONE = "none"  # a known caller without an open ticket: nothing to offer
    REFUSED = "refused"  # keyed: not the caller's ticket
    NOT_FOUND = "not_found"  # keyed: no such ticket (the caller hears the same as refused)
    INVALID = "invalid"  # keys that are no ticket number, or no caller number to check


@dataclass(frozen=True, slots=True)
class TicketRef:
    """What the caller keyed: the ticket's id (`123`) or its full number (`2026000123`)."""

    id: int | None = None
    number: str | None = None


@dataclass(frozen=True, slots=True)
class TicketFacts:
    id: int
    number: str
    status: str
    due_at: datetime | None
    contact_numbers: frozenset[str]  # normalised numbers of the ticket's contact


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    result: StatusResult
    ticket: TicketFacts | None = None

    def variables(self, timezone: str) -> list[tuple[str, str]]:
        """HOTLINE_STATUS_RESULT last: the dialplan reads the others only for `ticket`."""
        t = self.ticket
        if self.result is not StatusResult.TICKET or t is None:
            return [("HOTLINE_STATUS_RESULT", self.result.value)]
        due = t.due_at if t.status in OPEN_STATES else None
        return [("HOTLINE_STATUS_ID", str(t.id)),
                ("HOTLINE_STATUS_STATE", t.status if t.status in STATES else "open"),
                ("HOTLINE_STATUS_DUE", str(int(due.timestamp())) if due is not None else ""),
                ("HOTLINE_STATUS_TZ", timezone),
                ("HOTLINE_STATUS_RESULT", self.result.value)]


def parse_keys(keys: str) -> TicketRef | None:
    """The caller's keys as a ticket reference; None when they cannot be one."""
    keys = keys.strip()
    if not _DIGITS.fullmatch(keys):
        return None
    full = _FULL.fullmatch(keys)
    if full:
        return TicketRef(number=f"{full.group(1)}-{full.group(2)}")
    value = int(keys)
    return TicketRef(id=value) if 0 < value < 10**9 else None


def for_known(newest_open: TicketFacts | None) -> StatusAnswer:
    """A caller known as one contact: their newest open ticket, if any."""
    if newest_open is None:
        return StatusAnswer(StatusResult.NONE)
    return StatusAnswer(StatusResult.TICKET, newest_open)


def for_keyed(caller_number: str | None, ticket: TicketFacts | None) -> StatusAnswer:
    """A keyed ticket: read only when the caller's (normalised) number is its contact's."""
    if not caller_number:
        return StatusAnswer(StatusResult.INVALID)
    if ticket is None:
        return StatusAnswer(StatusResult.NOT_FOUND)
    if caller_number not in ticket.contact_numbers:
        return StatusAnswer(StatusResult.REFUSED)
    return StatusAnswer(StatusResult.TICKET, ticket)


def parse_csat(key: str) -> int | None:
    """One survey key: 1 to 5, anything else is no answer."""
    key = key.strip()
    return int(key) if len(key) == 1 and key in "12345" else None


def average(answers: Sequence[int]) -> float | None:
    return round(sum(answers) / len(answers), 2) if answers else None
