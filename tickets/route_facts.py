"""What routing needs to know about a caller, read from the database.

Layer: service (sync; the FastAGI script runs it off the event loop). Starts
from the ranked lookup (tickets.lookup, the same match the pop shows) and reads
the contact's and organisation's team, language and VIP flag and whether the
contact (or, for an organisation's number, any of its contacts) has an open
critical ticket (or the organisation's own open critical ticket): one indexed statement
after the lookup's, on its autocommit engine. Whether an organisation has one costs a
step per open critical ticket; the FastAGI script keeps that set for a few seconds
(`critical_organisations`, agent_console.agi_routes) instead of asking on every call.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from sqlalchemy import (
    ColumnElement,
    Engine,
    Executable,
    Exists,
    and_,
    bindparam,
    exists,
    literal,
    literal_column,
    null,
    select,
    union,
)

from tickets.lookup import LookupResult, MatchStatus
from tickets.models import Contact, Organisation, Priority, Ticket, TicketStatus
from tickets.routing import CallerFacts

_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


def caller_facts(engine: Engine, match: LookupResult,
                 critical: Callable[[], Collection[int]] | None = None) -> CallerFacts:
    """`critical`: the organisations with an open critical ticket (as
    critical_organisations below reads them, e.g. kept for a few seconds); without it
    they are read now."""
    if match.status is not MatchStatus.KNOWN:
        return CallerFacts(match.status.value)
    best = match.candidates[0]
    # a contact's own number: the contact, its organisation; an organisation's main number
    # or block: any of its contacts' tickets
    stmt: Executable
    params: dict[str, int | None]
    if best.contact_id is not None:
        stmt, params = _BY_CONTACT, {"contact_id": best.contact_id}
    else:
        stmt, params = _BY_ORGANISATION, {"organisation_id": best.organisation_id}
    with engine.connect() as conn:  # one statement, one round trip
        row = conn.execute(stmt, params).first()
    if row is None:  # deleted since the lookup
        return CallerFacts(MatchStatus.UNKNOWN.value)
    c_team, c_lang, c_vip, o_team, o_lang, o_vip, critical_open = row
    if best.contact_id is None:
        orgs = critical() if critical is not None else critical_organisations(engine)
        critical_open = best.organisation_id in orgs
    return CallerFacts("known", team=c_team or o_team or "", language=c_lang or o_lang or "",
                       vip=bool(c_vip or o_vip), critical_open=bool(critical_open))


def critical_organisations(engine: Engine) -> frozenset[int]:
    """The organisations a switchboard caller is moved up for: those with an open critical
    ticket of one of their contacts or of their own (one statement over the open critical
    tickets, ix_tickets_critical_open)."""
    with engine.connect() as conn:
        return frozenset(org for (org,) in conn.execute(_CRITICAL_ORGANISATIONS) if org is not None)


# literals, not parameters: the planner may then read them from ix_tickets_critical_open
_CRITICAL_OPEN = and_(Ticket.priority == literal_column(f"'{Priority.CRITICAL.value}'"),
                      Ticket.status.in_([literal_column(f"'{s.value}'") for s in _OPEN]))


def _critical(whose: ColumnElement[bool]) -> Exists:
    return exists().where(_CRITICAL_OPEN, whose)


# Built once, with bound parameters: building the expressions anew for every call cost
# more CPU than running them (SQLAlchemy caches the compiled form of a statement it has seen).
_BY_CONTACT = (select(Contact.team, Contact.language, Contact.vip, Organisation.team, Organisation.language,
                      Organisation.vip, _critical(Ticket.contact_id == bindparam("contact_id")))
               .select_from(Contact).outerjoin(Organisation, Organisation.id == Contact.organisation_id)
               .where(Contact.id == bindparam("contact_id")))
# An organisation's number: its team, language and VIP flag; whether it has an open
# critical ticket comes from critical_organisations (starting from the organisation's
# contacts instead cost 5 ms on SQLite and 11 ms on PostgreSQL per call at 20,000 contacts).
_BY_ORGANISATION = (select(literal(""), literal(""), literal(False), Organisation.team, Organisation.language,
                           Organisation.vip, null()).where(Organisation.id == bindparam("organisation_id")))
# from the open critical tickets (few, ix_tickets_critical_open): each one's contact's
# organisation, or the ticket's own (a mail from an address no contact has)
_CRITICAL_ORGANISATIONS = union(
    select(Contact.organisation_id).select_from(Ticket).join(Contact, Contact.id == Ticket.contact_id)
    .where(_CRITICAL_OPEN),
    select(Ticket.organisation_id).where(_CRITICAL_OPEN, Ticket.organisation_id.is_not(None)))
