"""The callers' past for many screen pops at once: open tickets, recent calls, callback items.

Layer: service (sync; run it off the event loop). Must not import agent_console.

What one pop shows of its caller (agent_console.pops.PopEnricher.history) is three
small queries; when 100 callers join the queue at once, 100 of those on worker
threads held the GIL for their row conversion (about 1 ms of SQLAlchemy work each)
while the event loop rang the phones, and the rings came 2-3 times later
(bench/bench_ws.py). Here the newest N per contact or per number come from one
statement each (a window function, ROW_NUMBER() OVER (PARTITION BY ...), which
SQLite and PostgreSQL both have), whatever the number of callers: a burst costs four
statements. Each list is exactly what TicketDesk.open_tickets_for / recent_calls /
callbacks return for one contact or number (tests/tickets/test_pop_history.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
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


def _newest(entity: Any, where: ColumnElement[bool], by: Any, order: tuple[Any, ...], limit: int) -> Select[Any]:
    """The newest `limit` rows of `entity` per value of `by` (in `order`), among `where`."""
    rank = func.row_number().over(partition_by=by, order_by=order).label("rank")
    ranked = select(entity.id, rank).where(where).subquery()
    return (select(entity).join(ranked, entity.id == ranked.c.id).where(ranked.c.rank <= limit)
            .order_by(by, *order))


def histories(sessions: sessionmaker[Session], contacts: Collection[int], numbers: Collection[str],
              calls_by_number: Collection[str], now: datetime) -> Histories:
    """Open tickets and recent calls of `contacts`, recent calls from `calls_by_number`
    (callers no contact was found for) and the open callback items of `numbers`."""
    out = Histories()
    with sessions() as s:
        if contacts:
            ids = sorted(set(contacts))
            for t in s.scalars(_newest(Ticket, Ticket.contact_id.in_(ids) & Ticket.status.not_in(list(DONE)),
                                       Ticket.contact_id, NEWEST_TICKETS, TICKETS)):
                out.open_tickets.setdefault(t.contact_id, []).append(ticket_dict(t, now))
            for r in s.scalars(_newest(CallRecord, CallRecord.contact_id.in_(ids) & ONE_LEG,
                                       CallRecord.contact_id, NEWEST_CALLS, CALLS)):
                out.calls_of_contact.setdefault(r.contact_id, []).append(call_dict(r))
        if calls_by_number:
            for r in s.scalars(_newest(CallRecord, CallRecord.caller_number.in_(sorted(set(calls_by_number)))
                                       & ONE_LEG, CallRecord.caller_number, NEWEST_CALLS, CALLS)):
                out.calls_from_number.setdefault(r.caller_number, []).append(call_dict(r))
        if numbers:
            where = Callback.caller_number.in_(sorted(set(numbers))) & (Callback.status == CallbackStatus.OPEN)
            for c in s.scalars(_newest(Callback, where, Callback.caller_number, NEWEST_CALLBACKS, CALLBACKS)):
                out.callbacks.setdefault(c.caller_number, []).append(callback_dict(c))
    return out
