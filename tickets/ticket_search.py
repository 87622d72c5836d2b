"""The ticket list's views, filters, full-text search and paging (the /tickets page).

Layer: service (sync; run it off the event loop). Builds one SELECT from a
TicketQuery, always restricted by tickets.visibility for the viewer.

Full-text search is a case-insensitive substring match (LIKE/ILIKE with escaped
wildcards) of every word of `q` in the subject or the description. Why not FTS5 or
PostgreSQL's tsvector: the same statement works on both databases without a
migration or triggers, it finds parts of words ("Druck" finds "Druckerstau",
which German compounds need and a tokenizer does not give), and at the scale of
the help desks here (~40,000 tickets a year) a scan of two columns is milliseconds.
A site with millions of tickets would add a trigram (pg_trgm) index.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from tickets.desk import NEWEST_CALLS, NEWEST_TICKETS, call_dict, ticket_dict
from tickets.models import CallRecord, Phone, PhoneKind, Priority, Ticket, TicketStatus
from tickets.sites import DEFAULT_SITE
from tickets.sla import DONE
from tickets.visibility import Viewer, call_visible, in_departments_of, owned, visible

MAX_WORDS = 8


class View(enum.StrEnum):
    ALL = "all"  # everything the viewer may see
    MINE = "mine"  # open tickets the viewer owns (assignee, creator, on its call)
    TEAM = "team"  # open tickets of the viewer's teams
    ESCALATED = "escalated"  # open tickets at level 2 or 3
    OVERDUE = "overdue"  # open tickets past their due time
    DEPARTMENT = "department"  # open tickets of the viewer's departments


@dataclass(frozen=True, slots=True)
class TicketQuery:
    view: View = View.ALL
    status: TicketStatus | None = None
    level: int | None = None
    team: str | None = None
    priority: Priority | None = None
    number: str | None = None  # a caller's number, normalized (E.164 or extension)
    q: str = ""
    contact_id: int | None = None
    overdue: bool | None = None
    department_id: int | None = None


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(Ticket.due_at.is_not(None), Ticket.due_at < now, Ticket.status.not_in(list(DONE)))


def _open() -> ColumnElement[bool]:
    return Ticket.status.not_in(list(DONE))


def _view(view: View, viewer: Viewer, now: datetime) -> list[ColumnElement[bool]]:
    if view == View.MINE:
        return [_open(), owned(viewer)]
    if view == View.TEAM:
        return [_open(), Ticket.team.in_(sorted(viewer.teams))]
    if view == View.ESCALATED:
        return [_open(), Ticket.level >= 2]
    if view == View.OVERDUE:
        return [_overdue(now)]
    if view == View.DEPARTMENT:
        return [_open(), in_departments_of(viewer.username)]
    return []


def _number(number: str) -> ColumnElement[bool]:
    by_contact = exists(select(Phone.id).where(Phone.contact_id == Ticket.contact_id, Phone.kind == PhoneKind.DIRECT,
                                               Phone.normalized == number))
    by_call = exists(select(CallRecord.id).where(CallRecord.caller_number == number,
                                                 or_(CallRecord.ticket_id == Ticket.id,
                                                     and_(CallRecord.linkedid == Ticket.linkedid,
                                                          CallRecord.site == Ticket.site))))
    return or_(by_contact, by_call)


def _words(q: str) -> list[ColumnElement[bool]]:
    return [or_(Ticket.subject.icontains(w, autoescape=True), Ticket.description.icontains(w, autoescape=True))
            for w in q.split()[:MAX_WORDS]]


# the filters that match one column of Ticket by equality (same name in TicketQuery)
_EQUAL = ("status", "level", "team", "priority", "contact_id", "department_id")


def conditions(query: TicketQuery, viewer: Viewer, now: datetime) -> list[ColumnElement[bool]]:
    found = [visible(viewer), *_view(query.view, viewer, now), *_words(query.q)]
    found += [getattr(Ticket, name) == getattr(query, name) for name in _EQUAL
              if getattr(query, name) is not None]
    if query.overdue is not None:
        found.append(_overdue(now) if query.overdue else ~_overdue(now))
    if query.number:
        found.append(_number(query.number))
    return found


def search(sessions: sessionmaker[Session], query: TicketQuery, viewer: Viewer, now: datetime,
           limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One page of tickets, newest first, and how many match in all."""
    where = conditions(query, viewer, now)
    with sessions() as s:
        total = s.scalar(select(func.count(Ticket.id)).where(*where)) or 0
        rows = s.scalars(select(Ticket).where(*where).order_by(*NEWEST_TICKETS)
                         .limit(limit).offset(offset))
        return [ticket_dict(t, now) for t in rows], total


def ticket_calls(sessions: sessionmaker[Session], ticket_id: int, linkedid: str | None,
                 viewer: Viewer, site: str = DEFAULT_SITE) -> list[dict[str, Any]]:
    """The calls of a ticket (linked by ticket id or by the call's site and Linkedid) the
    viewer may see, newest first."""
    linked: ColumnElement[bool] = CallRecord.ticket_id == ticket_id
    if linkedid:
        linked = or_(linked, and_(CallRecord.site == site, CallRecord.linkedid == linkedid))
    q = (select(CallRecord).where(linked,
                                  call_visible(viewer))
         .order_by(*NEWEST_CALLS).limit(100))
    with sessions() as s:
        return [call_dict(r) for r in s.scalars(q)]
