"""The callers' past for many screen pops at once: open tickets, recent calls, callback items.

Layer: service (sync; run it off the event loop). Must not import agent_console.

What one pop shows of its caller (agent_console.pops.PopEnricher.history) is three
small queries; when 100 callers join the queue at once, 100 of those on worker
threads held the GIL for their row conversion (about 1 ms of SQLAlchemy work each)
while the event loop rang the phones, and the rings came 2-3 times later
(bench/bench_ws.py). Here the newest N per contact or per number come from one
statement each (a UNION ALL of one top-N subquery per caller, each an index seek),
whatever the number of callers: a burst costs four statements. Each list is exactly
what TicketDesk.open_tickets_for / recent_calls / callbacks return for one contact or
number (tests/tickets/test_pop_history.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from tickets.desk import NEWEST_CALLBACKS, NEWEST_CALLS, NEWEST_TICKETS, ONE_LEG
from tickets.models import Callback, CallbackStatus, CallRecord, Ticket
from tickets.shapes import call_dict, callback_dict, ticket_dict
from tickets.sla import DONE

TICKETS, CALLS, CALLBACKS = 10, 5, 5  # what a pop shows of each


@dataclass
class Histories:
    open_tickets: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # contact -> newest first
    calls_of_contact: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    calls_from_number: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    callbacks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # number -> open items


_PER_STATEMENT = 200  # branches of one UNION ALL (SQLite allows 500 compound terms)


def _newest(s: Session, entity: Any, where: ColumnElement[bool], by: Any, keys: Collection[Any],
            order: tuple[Any, ...], limit: int) -> list[Any]:
    """The newest `limit` rows of `entity` for each of `keys` (values of `by`), in `order`,
    among `where`: one top-`limit` subquery per key, all in one UNION ALL, each an index
    seek on `by` and a short read (a number that calls all day has thousands of calls; a
    window function over all of them sorted every one at every pop)."""
    out: list[Any] = []
    keys = sorted(set(keys))
    for n in range(0, len(keys), _PER_STATEMENT):
        out += s.scalars(newest_statement(entity, where, by, keys[n:n + _PER_STATEMENT], order, limit))
    return out


def newest_statement(entity: Any, where: ColumnElement[bool], by: Any, keys: Sequence[Any],
                     order: tuple[Any, ...], limit: int) -> Select[Any]:
    tops = [select(entity.id).where(where, by == key).order_by(*order).limit(limit).subquery().select()
            for key in keys]
    return select(entity).where(entity.id.in_(union_all(*tops).scalar_subquery())).order_by(by, *order)


def histories(sessions: sessionmaker[Session], contacts: Collection[int], numbers: Collection[str],
              calls_by_number: Collection[str], now: datetime) -> Histories:
    """Open tickets and recent calls of `contacts`, recent calls from `calls_by_number`
    (callers no contact was found for) and the open callback items of `numbers`."""
    out = Histories()
    with sessions() as s:
        if contacts:
            for t in _newest(s, Ticket, Ticket.status.not_in(list(DONE)), Ticket.contact_id, contacts,
                             NEWEST_TICKETS, TICKETS):
                out.open_tickets.setdefault(t.contact_id, []).append(ticket_dict(t, now))
            for r in _newest(s, CallRecord, ONE_LEG, CallRecord.contact_id, contacts, NEWEST_CALLS, CALLS):
                out.calls_of_contact.setdefault(r.contact_id, []).append(call_dict(r))
        if calls_by_number:
            for r in _newest(s, CallRecord, ONE_LEG, CallRecord.caller_number, calls_by_number, NEWEST_CALLS, CALLS):
                out.calls_from_number.setdefault(r.caller_number, []).append(call_dict(r))
        if numbers:
            for c in _newest(s, Callback, Callback.status == CallbackStatus.OPEN, Callback.caller_number, numbers,
                             NEWEST_CALLBACKS, CALLBACKS):
                out.callbacks.setdefault(c.caller_number, []).append(callback_dict(c))
    return out
