"""Marking the hours whose report aggregates a write makes stale, in the writer's own
transaction (tickets.report_agg_store re-aggregates them).

Layer: storage. `install(sessions)` hooks a sessionmaker: every ORM flush and every
ORM-enabled UPDATE/DELETE of a call, ticket (with its history and messages),
callback, contact or organisation marks the UTC hours of what it touches, before
and after the change (a moved time dirties both hours). Cheaply: the rows as they
were are read before the change (one query, which also names them), the rows as
they are and the FCR neighbours of all of them once at commit, and all the hours
go in one insert of a row per hour (insert-only: writers never wait on each other's
marks, and a catch-up running meanwhile keeps a mark committed after it took the
hour's); a call end's marks cost three statements (the second reading is skipped
when an UPDATE of calls sets none of the columns they depend on to a new value). Marked as well:
- the tickets whose first-contact resolution a new contact can undo: tickets from
  calls of the same contact or number that ended up to the aggregates' FCR days
  before it (FCR_WINDOW, the longest setting, before they were ever built);
- for a contact or organisation, every call, ticket and callback grouped by it;
- for a user added, removed, or given another endpoint, site or partner, every call that
  endpoint answered at the user's site (and its ticket): the partner group is the user's
  partner now.
Raw SQL that bypasses the ORM (none in hotline) is not seen: `hotline reports
rebuild` recomputes everything. An UPDATE built once and run with parameters (the call
writer's, `static`) is read with those parameters, by a reading built once too.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    bindparam,
    event,
    exists,
    insert,
    inspect,
    select,
)
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction, sessionmaker

from tickets.models import Callback, CallRecord, Contact, Organisation, Ticket, TicketHistory, TicketMessage, User
from tickets.report_agg_fcr import Key, neighbours, of_ticket
from tickets.report_agg_models import LAYOUT, ReportAggMark, ReportAggMeta

_CALL_PLACE = ("entered_at", "ended_at", "contact_id", "caller_number", "ticket_id", "site", "linkedid")
_WATCHED = (CallRecord, Ticket, TicketHistory, TicketMessage, Callback, Contact, Organisation, User)
_PLACEMENT = ("endpoint", "site", "partner")  # what of a user the reports group by (an endpoint is per site)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


_MARK = insert(ReportAggMark)


def mark(conn: Connection, instants: Iterable[datetime | None]) -> None:
    """Mark the hours of `instants` dirty: one new row each, never an update of another
    writer's (the writers of several sites do not queue on one row lock per hour)."""
    hours = sorted({hour_of(at) for at in instants if at is not None})
    if hours:
        conn.execute(_MARK, [{"hour": h} for h in hours])


class Seen:
    """Times whose aggregates depend on some rows, and the FCR keys of those rows."""

    def __init__(self) -> None:
        self.instants: list[datetime] = []
        self.keys: list[Key] = []
        self.ids: set[int] = set()  # of the rows read (calls, tickets, callbacks by a WHERE)
        self.places: list[dict[str, Any]] = []  # calls: the columns their marks depend on
        self.fcr_days: tuple[int | None] | None = None  # the aggregates' FCR days, when read along

    def days(self, conn: Connection) -> int | None:
        return self.fcr_days[0] if self.fcr_days is not None else _fcr_days(conn)

    def add(self, other: Seen) -> Seen:
        self.instants += other.instants
        self.keys += other.keys
        self.fcr_days = self.fcr_days or other.fcr_days
        return self


# Built once: a writer runs these for every call, and a statement built anew costs SQLAlchemy
# about ten times its execution (construction, cache key, result map; bench/bench_writes.py).
_FCR_DAYS = select(ReportAggMeta.fcr_days).where(ReportAggMeta.id == LAYOUT)
_CALLS = (select(CallRecord.entered_at, CallRecord.ended_at, CallRecord.contact_id, CallRecord.caller_number,
                 Ticket.created_at, CallRecord.id, *(getattr(CallRecord, c) for c in _CALL_PLACE),
                 _FCR_DAYS.scalar_subquery())
          .outerjoin(Ticket, Ticket.id == CallRecord.ticket_id))
_TICKETS = select(Ticket.created_at, Ticket.contact_id, CallRecord.entered_at, CallRecord.ended_at,
                  Ticket.id).outerjoin(CallRecord, of_ticket())
_CALLBACKS = select(Callback.first_call_at, Callback.id)
_CALLS_BY_ID = _CALLS.where(CallRecord.id.in_(bindparam("ids", expanding=True)))
_TICKETS_BY_ID = _TICKETS.where(Ticket.id.in_(bindparam("ids", expanding=True)))
_CALLBACKS_BY_ID = _CALLBACKS.where(Callback.id.in_(bindparam("ids", expanding=True)))
Params = dict[str, Any] | None
AnySelect = Select[*tuple[Any, ...]]


def _fcr_days(conn: Connection) -> int | None:
    """The FCR days the aggregates were built with (a change needs a rebuild); None: never built."""
    return conn.scalar(_FCR_DAYS)


def _calls(conn: Connection, where: ColumnElement[bool] | AnySelect, params: Params = None) -> Seen:
    """The calls `where` picks (or the statement itself, `_CALLS` with a WHERE, and its parameters)."""
    rows = conn.execute(where if isinstance(where, Select) else _CALLS.where(where), params).all()
    seen = Seen()
    seen.ids = {r[5] for r in rows}
    seen.keys = [(r[2], r[3], at) for r in rows if (at := r[0] or r[1])]
    seen.instants = [at for r in rows for at in (r[0] or r[1], r[4]) if at is not None]
    seen.places = [dict(zip(_CALL_PLACE, r[6:-1], strict=True)) for r in rows]
    if rows:
        seen.fcr_days = (rows[0][-1],)
    return seen


def _tickets(conn: Connection, where: ColumnElement[bool] | AnySelect, params: Params = None) -> Seen:
    rows = conn.execute(where if isinstance(where, Select) else _TICKETS.where(where), params).all()
    seen = Seen()
    seen.ids = {r[4] for r in rows}
    seen.keys = [(contact, None, created) for created, contact, _, _, _ in rows if contact is not None]
    seen.instants = [at for r in rows for at in (r[0], r[2] or r[3]) if at is not None]
    return seen


def _callbacks(conn: Connection, where: ColumnElement[bool] | AnySelect, params: Params = None) -> Seen:
    seen = Seen()
    rows = conn.execute(where if isinstance(where, Select) else _CALLBACKS.where(where), params).all()
    seen.instants, seen.ids = [r[0] for r in rows], {r[1] for r in rows}
    return seen


def calls_where(conn: Connection, where: ColumnElement[bool]) -> list[datetime]:
    """The times whose aggregates depend on these calls (with their FCR neighbours)."""
    seen = _calls(conn, where)
    return [*seen.instants, *neighbours(conn, seen.keys, seen.days(conn) if seen.keys else None)]


def _contacts(conn: Connection, ids: list[int]) -> Seen:
    return (_calls(conn, CallRecord.contact_id.in_(ids)).add(_tickets(conn, Ticket.contact_id.in_(ids)))
            .add(_callbacks(conn, Callback.contact_id.in_(ids))))


def _organisations(conn: Connection, ids: list[int]) -> Seen:
    people = list(conn.scalars(select(Contact.id).where(Contact.organisation_id.in_(ids))))
    return _contacts(conn, people).add(_tickets(conn, Ticket.organisation_id.in_(ids)))


def _users(conn: Connection, ids: list[int]) -> Seen:
    # the calls their phones took: an endpoint at its site (each site's Asterisk has its own PJSIP/1001)
    theirs = exists(select(User.id).where(User.id.in_(ids), User.endpoint == CallRecord.agent,
                                          User.site == CallRecord.site))
    return _calls(conn, theirs)


_BY_IDS: dict[type, Callable[[Connection, list[int]], Seen]] = {
    CallRecord: lambda c, ids: _calls(c, _CALLS_BY_ID, {"ids": ids}),
    Ticket: lambda c, ids: _tickets(c, _TICKETS_BY_ID, {"ids": ids}),
    Callback: lambda c, ids: _callbacks(c, _CALLBACKS_BY_ID, {"ids": ids}),
    Contact: _contacts, Organisation: _organisations, User: _users}
_BY_STATEMENT: dict[type, tuple[Callable[[Connection, Any, Params], Seen], Any]] = {
    CallRecord: (_calls, _CALLS), Ticket: (_tickets, _TICKETS), Callback: (_callbacks, _CALLBACKS)}


def _ids(objects: Iterable[Any]) -> dict[type, set[int]]:
    ids: dict[type, set[int]] = {kind: set() for kind in _BY_IDS}
    for obj in objects:
        if isinstance(obj, TicketHistory | TicketMessage):
            ids[Ticket].add(obj.ticket_id)
        elif type(obj) in ids and obj.id is not None:
            ids[type(obj)].add(obj.id)
    return ids


def _seen(conn: Connection, ids: dict[type, set[int]]) -> Seen:
    seen = Seen()
    for kind, these in ids.items():
        if these:
            seen.add(_BY_IDS[kind](conn, sorted(these)))
    return seen


def _watched(objects: Iterable[Any], every_user: bool = True) -> list[Any]:
    """The watched rows; users changed in place only when their endpoint, site or partner changed."""
    return [o for o in objects if isinstance(o, _WATCHED) and (
        every_user or not isinstance(o, User) or any(inspect(o).attrs[a].history.has_changes() for a in _PLACEMENT))]


class Pending:
    """What a transaction touched, marked once at its commit: the times and FCR keys read
    before a change (its rows as they were), and the ids whose rows are read at commit
    (as they are then)."""

    def __init__(self) -> None:
        self.before = Seen()
        self.after: dict[type, set[int]] = {kind: set() for kind in _BY_IDS}

    def touch(self, ids: dict[type, set[int]]) -> None:
        for kind, these in ids.items():
            self.after[kind] |= these

    def empty(self) -> bool:
        return not self.before.instants and not self.before.keys and not any(self.after.values())


def _pending(session: Session) -> Pending:
    found = session.info.get("report_agg_pending")
    if found is None:
        found = session.info["report_agg_pending"] = Pending()
    assert isinstance(found, Pending)
    return found


def _before_flush(session: Session, flush: UOWTransaction, instances: Any) -> None:
    touched = [*_watched(session.dirty, every_user=False), *_watched(session.deleted)]
    if touched:
        _pending(session).before.add(_seen(session.connection(), _ids(touched)))
    session.info["report_agg_flushing"] = [*_watched(session.new), *_watched(session.dirty, every_user=False)]


def _after_flush(session: Session, flush: UOWTransaction) -> None:
    touched = session.info.pop("report_agg_flushing", [])
    if touched:
        _pending(session).touch(_ids(touched))


def _before_commit(session: Session) -> None:
    """Mark everything this transaction touched: one insert of its hours."""
    session.flush()
    pending = session.info.pop("report_agg_pending", None)
    if pending is None or pending.empty():
        return
    conn = session.connection()
    seen = Seen().add(pending.before).add(_seen(conn, pending.after))
    mark(conn, [*seen.instants, *neighbours(conn, seen.keys, seen.days(conn) if seen.keys else None)])


def _transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop("report_agg_pending", None)


class _Reading:
    """Where a static statement keeps the reading of its rows, built at its first run: the
    statement holds it, so it lives and goes with the statement (no cache of its own)."""

    __slots__ = ("select",)

    def __init__(self) -> None:
        self.select: AnySelect | None = None


def static(statement: Any) -> Any:
    """`statement` (an UPDATE or DELETE built once and run with parameters) marked so that
    the reading of its rows before it runs is built once too."""
    return statement.execution_options(report_agg_static=_Reading())


def _reading(base: AnySelect, statement: Any, where: ColumnElement[bool]) -> AnySelect:
    held = statement.get_execution_options().get("report_agg_static")
    if not isinstance(held, _Reading):
        return base.where(where)
    if held.select is None:
        held.select = base.where(where)
    return held.select


def _statement(state: ORMExecuteState) -> Any:
    if not (state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    where = getattr(state.statement, "whereclause", None)
    if mapper is None or where is None:
        return None
    entity = mapper.class_
    if entity not in _BY_IDS or entity is User:
        return None
    conn, pending = state.session.connection(), _pending(state.session)
    params = state.parameters if isinstance(state.parameters, dict) else None
    if entity in _BY_STATEMENT:  # the rows as they are now; as they will be, at commit
        read, base = _BY_STATEMENT[entity]
        before = read(conn, _reading(base, state.statement, where), params)
        ids = before.ids
        if entity is CallRecord and _keeps_place(state.statement, before.places, params or {}):
            ids = set()  # their marks stay as read now (a call end after its insert-or-ignore)
    else:
        ids = set(conn.scalars(select(mapper.primary_key[0]).where(where), params))
        before = _BY_IDS[entity](conn, sorted(ids)) if ids else Seen()
    pending.before.add(before)
    pending.touch({entity: ids})
    return None


def _keeps_place(statement: Any, places: list[dict[str, Any]], params: dict[str, Any]) -> bool:
    """An UPDATE of calls that sets none of the columns their marks depend on to another
    value than the rows (as read) hold: the rows after it need no second reading."""
    values = getattr(statement, "_values", None)
    if not isinstance(values, dict) or not values:
        return False
    sets: dict[str, Any] = {}
    for col, val in values.items():
        name = getattr(col, "key", col)
        if name in _CALL_PLACE:
            if not isinstance(val, BindParameter) or val.callable is not None:
                return False
            sets[name] = params[val.key] if val.key in params else val.value
    return all(place[k] == v for place in places for k, v in sets.items())


_HOOKED: weakref.WeakSet[sessionmaker[Session]] = weakref.WeakSet()


def install(sessions: sessionmaker[Session]) -> None:
    """Hook `sessions` (idempotent). Which makers are hooked is kept here, not asked of
    `event.contains`: SQLAlchemy keys its listener registry by the target's id(), and a new
    sessionmaker at a freed one's address looked hooked until the cyclic GC ran, so it
    was left unhooked and its writes marked nothing (stale aggregates, seen in test runs)."""
    if sessions not in _HOOKED:
        _HOOKED.add(sessions)
        event.listen(sessions, "before_flush", _before_flush)
        event.listen(sessions, "after_flush", _after_flush)
        event.listen(sessions, "before_commit", _before_commit)
        event.listen(sessions, "after_transaction_end", _transaction_end)
        event.listen(sessions, "do_orm_execute", _statement)
