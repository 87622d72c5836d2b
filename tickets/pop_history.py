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

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select, union_all
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


_PER_STATEMENT = 128  # branches of one UNION ALL at most (SQLite allows 500 compound terms)


@dataclass(frozen=True, eq=False)  # one per kind, hashed as itself (the cache key)
class _Newest:
    """What a pop lists of one kind: `entity` rows among `where`, the newest `limit` per value of `by`."""

    entity: Any
    where: ColumnElement[bool]
    by: Any
    order: tuple[Any, ...]
    limit: int


_OPEN_TICKETS = _Newest(Ticket, Ticket.status.not_in(list(DONE)), Ticket.contact_id, NEWEST_TICKETS, TICKETS)
_CALLS_OF_CONTACT = _Newest(CallRecord, ONE_LEG, CallRecord.contact_id, NEWEST_CALLS, CALLS)
_CALLS_FROM_NUMBER = _Newest(CallRecord, ONE_LEG, CallRecord.caller_number, NEWEST_CALLS, CALLS)
_OPEN_CALLBACKS = _Newest(Callback, Callback.status == CallbackStatus.OPEN, Callback.caller_number,
                          NEWEST_CALLBACKS, CALLBACKS)


def _newest(s: Session, kind: _Newest, keys: Collection[Any]) -> list[Any]:
    """The newest rows of `kind` for each of `keys`: one top-N subquery per key, all in one
    UNION ALL, each an index seek on `by` and a short read (a number that calls all day has
    thousands of calls; a window function over all of them sorted every one at every pop).
    The statements are built once per kind and size (1, 2, 4 ... 128 keys; the last key
    repeated to fill: IN drops the duplicates), a burst's callers bound as parameters."""
    out: list[Any] = []
    keys = sorted(set(keys))
    for n in range(0, len(keys), _PER_STATEMENT):
        part = keys[n:n + _PER_STATEMENT]
        size = 1 << (len(part) - 1).bit_length()
        params = {f"k{i}": part[min(i, len(part) - 1)] for i in range(size)}
        out += s.scalars(newest_statement(kind, size), params)
    return out


@lru_cache(maxsize=64)
def newest_statement(kind: _Newest, size: int) -> Select[Any]:
    """`kind`'s newest rows for `size` keys bound as k0, k1, ..."""
    entity, by, order = kind.entity, kind.by, kind.order
    tops = [select(entity.id).where(kind.where, by == bindparam(f"k{i}")).order_by(*order).limit(kind.limit)
            .subquery().select() for i in range(size)]
    return select(entity).where(entity.id.in_(union_all(*tops).scalar_subquery())).order_by(by, *order)


def histories(sessions: sessionmaker[Session], contacts: Collection[int], numbers: Collection[str],
              calls_by_number: Collection[str], now: datetime) -> Histories:
    """Open tickets and recent calls of `contacts`, recent calls from `calls_by_number`
    (callers no contact was found for) and the open callback items of `numbers`."""
    out = Histories()
    with sessions() as s:
        if contacts:
            for t in _newest(s, _OPEN_TICKETS, contacts):
                out.open_tickets.setdefault(t.contact_id, []).append(ticket_dict(t, now))
            for r in _newest(s, _CALLS_OF_CONTACT, contacts):
                out.calls_of_contact.setdefault(r.contact_id, []).append(call_dict(r))
        if calls_by_number:
            for r in _newest(s, _CALLS_FROM_NUMBER, calls_by_number):
                out.calls_from_number.setdefault(r.caller_number, []).append(call_dict(r))
        if numbers:
            for c in _newest(s, _OPEN_CALLBACKS, numbers):
                out.callbacks.setdefault(c.caller_number, []).append(callback_dict(c))
    return out
