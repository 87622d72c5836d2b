"""The facts of a report period, read from the database in a few column queries.

Layer: service (sync, run off the event loop). Must not import agent_console.
A call belongs to the period it entered the queue in (a call that never entered
one, after hours, to the period it ended in); a ticket to the period it was
created in; a callback to its first call's. A call's partner is its answering
agent's: the user whose endpoint is the call record's agent (who that user's
partner is now; "" when nobody answered); its agent, for the per-agent figures, is
that endpoint qualified by its site (`agent_of`). Rows are read through the session's
connection (Core rows, no ORM result machinery: a year is a million of them).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased, sessionmaker

from tickets.call_join import OVERFLOWED
from tickets.models import (
    Callback,
    CallbackStatus,
    CallRecord,
    Contact,
    Organisation,
    Ticket,
    TicketHistory,
    TicketMessage,
    User,
)
from tickets.report_build import Facts
from tickets.report_facts import CallbackFact, CallFact, TicketFact
from tickets.sites import DEFAULT_SITE

_DONE = ("resolved", "closed")
_OPEN = ("new", "open", "pending")


def raw(column: Any) -> Any:
    """The column as the driver returns it: no per-row conversion by SQLAlchemy (times are
    converted by `utc`, enum values stay the strings stored; a year is a million rows)."""
    return type_coerce(column, String())


def utc(value: Any) -> Any:
    """A stored time as aware UTC: psycopg gives aware datetimes, SQLite the text SQLAlchemy
    wrote (UTC, without offset)."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _in(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def partner(answered: object, name: str | None) -> str:
    """The answering agent's partner; "" when nobody answered (or no user has that endpoint)."""
    return (name or "") if answered is not None else ""


def agent_of(site: str | None, endpoint: str | None) -> str:
    """Who answered, for the per-agent figures: each site's Asterisk has its own PJSIP/1001,
    so an endpoint at another site than `main` is `site:endpoint` (main's stay as they were)."""
    if not endpoint:
        return ""
    return endpoint if site in (None, DEFAULT_SITE) else f"{site}:{endpoint}"


def load_calls(s: Session, start: datetime, end: datetime) -> list[CallFact]:
    org = aliased(Organisation)
    q = (select(CallRecord.linkedid, raw(CallRecord.entered_at), raw(CallRecord.ended_at), CallRecord.outcome,
                CallRecord.wait_seconds, CallRecord.talk_seconds, raw(CallRecord.answered_at), CallRecord.queue,
                CallRecord.agent, CallRecord.caller_number, CallRecord.contact_id, org.name,
                CallRecord.route_team, Contact.team, org.team, Contact.language, Ticket.category, Ticket.level,
                func.coalesce(CallRecord.entry_site, CallRecord.site), User.partner, CallRecord.site)
         .outerjoin(User, and_(User.endpoint == CallRecord.agent, User.site == CallRecord.site))  # the agent there
         .outerjoin(Contact, Contact.id == CallRecord.contact_id)
         .outerjoin(org, org.id == Contact.organisation_id)
         .outerjoin(Ticket, Ticket.id == CallRecord.ticket_id)
         .where(CallRecord.outcome.is_not(None), CallRecord.outcome != OVERFLOWED,  # counted as its answering leg
                or_(_in(CallRecord.entered_at, start, end),
                    and_(CallRecord.entered_at.is_(None), _in(CallRecord.ended_at, start, end)))))
    out = []
    for (linkedid, entered, ended, outcome, wait, talk, answered_at, queue, agent, number, contact, org_name,
         route_team, contact_team, org_team, language, category, level, site, who,
         at_site) in s.connection().execute(q):
        out.append(CallFact(
            linkedid=linkedid, at=utc(entered or ended) or start, outcome=outcome or "", wait_seconds=wait or 0.0,
            talk_seconds=talk or 0.0, answered=answered_at is not None, queue=queue or "",
            agent=agent_of(at_site, agent), number=number or "", contact_id=contact, organisation=org_name or "",
            team=route_team or contact_team or org_team or "", language=language or "",
            category=category or "", level="" if level is None else str(level), site=site,
            partner=partner(answered_at, who)))
    return out


def _status_changes(s: Session, created: ColumnElement[bool]) -> dict[int, list[tuple[datetime, str, str]]]:
    q = (select(TicketHistory.ticket_id, raw(TicketHistory.at), TicketHistory.old, TicketHistory.new)
         .join(Ticket, Ticket.id == TicketHistory.ticket_id)
         .where(created, TicketHistory.field == "status").order_by(TicketHistory.at, TicketHistory.id))
    out: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    for ticket_id, at, old, new in s.connection().execute(q):
        out[ticket_id].append((utc(at), old, new))
    return out


def _messages(s: Session, created: ColumnElement[bool]) -> dict[int, list[datetime]]:
    q = (select(TicketMessage.ticket_id, raw(TicketMessage.received_at))
         .join(Ticket, Ticket.id == TicketMessage.ticket_id).where(created))
    out: dict[int, list[datetime]] = defaultdict(list)
    for ticket_id, at in s.connection().execute(q):
        out[ticket_id].append(utc(at))
    return out


def _resolution(changes: list[tuple[datetime, str, str]], done_now: bool) -> tuple[datetime | None,
                                                                                 datetime | None, bool]:
    """(first time it became resolved/closed, the last time if it is done now, reopened)."""
    into_done = [at for at, old, new in changes if new in _DONE and old not in _DONE]
    reopened = any(old in _DONE and new in _OPEN for _, old, new in changes)
    first = into_done[0] if into_done else None
    return first, (into_done[-1] if done_now and into_done else None), reopened


def load_tickets(s: Session, start: datetime, end: datetime) -> list[TicketFact]:
    org, contact_org = aliased(Organisation), aliased(Organisation)
    created = _in(Ticket.created_at, start, end)
    q = (select(Ticket.id, raw(Ticket.created_at), raw(Ticket.channel), Ticket.category, Ticket.level,
                raw(Ticket.priority), Ticket.team, org.name, contact_org.name, Contact.language, CallRecord.queue,
                CallRecord.agent, Ticket.contact_id, CallRecord.caller_number, raw(CallRecord.ended_at),
                raw(CallRecord.answered_at), raw(Ticket.due_at), raw(Ticket.status), Ticket.first_contact_resolution,
                Ticket.csat, func.coalesce(CallRecord.entry_site, Ticket.site), User.partner, CallRecord.site)
         .outerjoin(Contact, Contact.id == Ticket.contact_id)
         .outerjoin(org, org.id == Ticket.organisation_id)
         .outerjoin(contact_org, contact_org.id == Contact.organisation_id)
         .outerjoin(CallRecord, and_(CallRecord.linkedid == Ticket.linkedid, CallRecord.site == Ticket.site))
         .outerjoin(User, and_(User.endpoint == CallRecord.agent, User.site == CallRecord.site))  # the agent there
         .where(created))
    changes, messages = _status_changes(s, created), _messages(s, created)
    out = []
    for (tid, at, channel, category, level, priority, team, org_name, contact_org_name, language, queue, agent,
         contact, number, ended, answered, due, status, manual, csat, site, who, at_site) in s.connection().execute(q):
        first, last, reopened = _resolution(changes.get(tid, []), str(status) in _DONE)
        from_call = answered is not None and ended is not None
        out.append(TicketFact(
            id=tid, at=utc(at), channel=str(channel), category=category or "", level=str(level),
            priority=str(priority), team=team or "", organisation=org_name or contact_org_name or "",
            language=language or "", queue=queue or "", agent=agent_of(at_site, agent), contact_id=contact,
            number=number or "", call_ended_at=utc(ended) if from_call else None, due_at=utc(due),
            first_resolved_at=first, resolved_at=last, reopened=reopened, manual_fcr=bool(manual),
            messages=tuple(sorted(messages.get(tid, ()))), csat=csat, site=site, partner=partner(answered, who)))
    return out


def load_callbacks(s: Session, start: datetime, end: datetime) -> list[CallbackFact]:
    q = (select(raw(Callback.first_call_at), raw(Callback.status), Callback.queue, Organisation.name, Contact.team,
                Contact.language, Callback.site)
         .outerjoin(Contact, Contact.id == Callback.contact_id)
         .outerjoin(Organisation, Organisation.id == Contact.organisation_id)
         .where(_in(Callback.first_call_at, start, end)))
    return [CallbackFact(at=utc(at), done=status == CallbackStatus.DONE.value, queue=queue or "",
                         organisation=org or "", team=team or "", language=language or "", site=site)
            for at, status, queue, org, team, language, site in s.connection().execute(q)]


def load(sessions: sessionmaker[Session], start: datetime, end: datetime, fcr_days: int) -> Facts:
    """The period's facts and the contacts of the `fcr_days` after it (for repeat contacts)."""
    later = end + timedelta(days=fcr_days)
    with sessions() as s:
        return Facts(calls=load_calls(s, start, end), tickets=load_tickets(s, start, end),
                     callbacks=load_callbacks(s, start, end), later_calls=load_calls(s, end, later),
                     later_tickets=load_tickets(s, end, later))

