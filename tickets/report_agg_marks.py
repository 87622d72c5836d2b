"""Marking the hours whose report aggregates a write makes stale, in the writer's own
transaction (tickets.report_agg_store re-aggregates them).

Layer: storage. `install(sessions)` hooks a sessionmaker: every ORM flush and every
ORM-enabled UPDATE/DELETE of a call, ticket (with its history and messages),
callback, contact or organisation marks the UTC hours of what it touches, before
and after the change (a moved time dirties both hours). Marked as well:
- the tickets whose first-contact resolution a new contact can undo: tickets from
  calls of the same contact or number that ended up to the aggregates' FCR days
  before it (FCR_WINDOW, the longest setting, before they were ever built);
- for a contact or organisation, every call, ticket and callback grouped by it;
- for a user added, removed, or given another endpoint or partner, every call that
  endpoint answered (and its ticket): the partner group is the user's partner now.
Raw SQL that bypasses the ORM (none in hotline) is not seen: `hotline reports
rebuild` recomputes everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, event, inspect, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, sessionmaker

from tickets.models import Callback, CallRecord, Contact, Organisation, Ticket, TicketHistory, TicketMessage, User
from tickets.report_agg_models import LAYOUT, ReportAggDirty, ReportAggMeta

FCR_WINDOW = timedelta(days=90)  # the longest FCR setting (Settings.fcr_days le=90)
_WATCHED = (CallRecord, Ticket, TicketHistory, TicketMessage, Callback, Contact, Organisation, User)
_PLACEMENT = ("endpoint", "partner")  # what of a user the reports group by


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def mark(conn: Connection, instants: Iterable[datetime | None]) -> None:
    """Mark the hours of `instants` dirty (version + 1 when already marked)."""
    hours = sorted({hour_of(at) for at in instants if at is not None})  # one order: no deadlocks
    if not hours:
        return
    table = ReportAggDirty.__table__
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=["hour"], set_={"version": table.c.version + 1})
    conn.execute(stmt, [{"hour": h, "version": 1} for h in hours])


def _fcr_window(conn: Connection) -> timedelta:
    """The FCR days the aggregates were built with (a change needs a rebuild), else the longest."""
    days = conn.scalar(select(ReportAggMeta.fcr_days).where(ReportAggMeta.id == LAYOUT))
    return FCR_WINDOW if days is None else timedelta(days=days)


def _fcr_neighbours(conn: Connection, keys: Iterable[tuple[int | None, str | None, datetime]]) -> list[datetime]:
    """Created times of tickets from calls by the same contact/number that ended in the FCR window."""
    out: list[datetime] = []
    keys = list(keys)
    window = _fcr_window(conn) if keys else FCR_WINDOW
    for contact, number, at in keys:
        who = [c for c in (CallRecord.contact_id == contact if contact is not None else None,
                           CallRecord.caller_number == number if number else None) if c is not None]
        if not who:
            continue
        out += conn.scalars(select(Ticket.created_at).join(CallRecord, _of_ticket())
                            .where(or_(*who), CallRecord.ended_at >= at - window, CallRecord.ended_at <= at))
    return out


def calls_where(conn: Connection, where: ColumnElement[bool]) -> list[datetime]:
    rows = conn.execute(select(CallRecord.entered_at, CallRecord.ended_at, CallRecord.contact_id,
                               CallRecord.caller_number, Ticket.created_at)
                        .outerjoin(Ticket, Ticket.id == CallRecord.ticket_id).where(where)).all()
    keys = [(contact, number, at) for entered, ended, contact, number, _ in rows if (at := entered or ended)]
    out: list[datetime | None] = [*(r[0] or r[1] for r in rows), *(r[4] for r in rows)]
    return [*(at for at in out if at is not None), *_fcr_neighbours(conn, keys)]


def tickets_where(conn: Connection, where: ColumnElement[bool]) -> list[datetime]:
    rows = conn.execute(select(Ticket.created_at, Ticket.contact_id, Ticket.linkedid, CallRecord.entered_at,
                               CallRecord.ended_at)
                        .outerjoin(CallRecord, _of_ticket()).where(where)).all()
    keys = [(contact, None, created) for created, contact, linkedid, _, _ in rows if contact is not None]
    out: list[datetime | None] = [*(r[0] for r in rows), *(r[3] or r[4] for r in rows)]
    return [*(at for at in out if at is not None), *_fcr_neighbours(conn, keys)]


def callbacks_where(conn: Connection, where: ColumnElement[bool]) -> list[datetime]:
    return list(conn.scalars(select(Callback.first_call_at).where(where)))


def _contacts(conn: Connection, ids: list[int]) -> list[datetime]:
    return [*calls_where(conn, CallRecord.contact_id.in_(ids)), *tickets_where(conn, Ticket.contact_id.in_(ids)),
            *callbacks_where(conn, Callback.contact_id.in_(ids))]


def _organisations(conn: Connection, ids: list[int]) -> list[datetime]:
    people = list(conn.scalars(select(Contact.id).where(Contact.organisation_id.in_(ids))))
    return [*_contacts(conn, people), *tickets_where(conn, Ticket.organisation_id.in_(ids))]


def _users(conn: Connection, ids: list[int]) -> list[datetime]:
    endpoints = select(User.endpoint).where(User.id.in_(ids), User.endpoint.is_not(None))
    return calls_where(conn, CallRecord.agent.in_(endpoints))


def instants_of(conn: Connection, objects: Iterable[Any]) -> list[datetime]:
    """The times (as stored now) whose aggregates depend on these rows."""
    ids: dict[type, list[int]] = {kind: [] for kind in _WATCHED}
    tickets: list[int] = []
    for obj in objects:
        if isinstance(obj, TicketHistory | TicketMessage):
            tickets.append(obj.ticket_id)
        elif isinstance(obj, _WATCHED) and obj.id is not None:
            ids[type(obj)].append(obj.id)
    out: list[datetime] = []
    if ids[CallRecord]:
        out += calls_where(conn, CallRecord.id.in_(ids[CallRecord]))
    if ids[Ticket] or tickets:
        out += tickets_where(conn, Ticket.id.in_([*ids[Ticket], *tickets]))
    if ids[Callback]:
        out += callbacks_where(conn, Callback.id.in_(ids[Callback]))
    if ids[Contact]:
        out += _contacts(conn, ids[Contact])
    if ids[Organisation]:
        out += _organisations(conn, ids[Organisation])
    if ids[User]:
        out += _users(conn, ids[User])
    return out


def _watched(objects: Iterable[Any], every_user: bool = True) -> list[Any]:
    """The watched rows; users changed in place only when their endpoint or partner changed."""
    return [o for o in objects if isinstance(o, _WATCHED) and (
        every_user or not isinstance(o, User) or any(inspect(o).attrs[a].history.has_changes() for a in _PLACEMENT))]


def _before_flush(session: Session, flush: UOWTransaction, instances: Any) -> None:
    touched = [*_watched(session.dirty, every_user=False), *_watched(session.deleted)]
    if touched:
        mark(session.connection(), instants_of(session.connection(), touched))
    session.info["report_agg_flushing"] = [*_watched(session.new), *_watched(session.dirty, every_user=False)]


def _after_flush(session: Session, flush: UOWTransaction) -> None:
    touched = session.info.pop("report_agg_flushing", [])
    if touched:
        mark(session.connection(), instants_of(session.connection(), touched))


_BY_STATEMENT = {CallRecord: calls_where, Ticket: tickets_where, Callback: callbacks_where}


def _statement(state: ORMExecuteState) -> Any:
    if not (state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    where = getattr(state.statement, "whereclause", None)
    if mapper is None or where is None:
        return None
    entity = mapper.class_
    conn = state.session.connection()
    if entity in _BY_STATEMENT:
        mark(conn, _BY_STATEMENT[entity](conn, where))
        result = state.invoke_statement()
        mark(conn, _BY_STATEMENT[entity](conn, where))
        return result
    if entity in (Contact, Organisation):
        ids = list(conn.scalars(select(mapper.primary_key[0]).where(where)))
        mark(conn, (_contacts if entity is Contact else _organisations)(conn, ids))
        result = state.invoke_statement()
        mark(conn, (_contacts if entity is Contact else _organisations)(conn, ids))
        return result
    return None


def install(sessions: sessionmaker[Session]) -> None:
    """Hook `sessions` (idempotent)."""
    if not event.contains(sessions, "before_flush", _before_flush):
        event.listen(sessions, "before_flush", _before_flush)
        event.listen(sessions, "after_flush", _after_flush)
        event.listen(sessions, "do_orm_execute", _statement)


def _of_ticket() -> ColumnElement[bool]:
    """A call record and the ticket its call made: same site and Linkedid (tickets.sites)."""
    return and_(CallRecord.linkedid == Ticket.linkedid, CallRecord.site == Ticket.site)
