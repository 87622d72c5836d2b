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
    BindParameter,
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
    or_,
    select,
    union,
)

from tickets.lookup import LookupResult, MatchStatus
from tickets.models import Contact, Organisation, Priority, Ticket, TicketStatus
from tickets.routing import CallerFacts

_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


def caller_facts(engine: Engine, match: LookupResult,
                 critical_organisations: Callable[[], Collection[int]] | None = None) -> CallerFacts:
    """`critical_organisations`: the organisations with an open critical ticket (as
    `critical_organisations()` below reads them, e.g. kept for a few seconds); without
    it the statement itself asks, which costs one step per open critical ticket."""
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
        stmt = (_ORGANISATION_ONLY if critical_organisations is not None else
                _BY_ORGANISATION[engine.dialect.name == "sqlite"])
        params = {"organisation_id": best.organisation_id}
    with engine.connect() as conn:  # one statement, one round trip
        row = conn.execute(stmt, params).first()
    if row is None:  # deleted since the lookup
        return CallerFacts(MatchStatus.UNKNOWN.value)
    c_team, c_lang, c_vip, o_team, o_lang, o_vip, critical = row
    if critical is None and critical_organisations is not None:
        critical = best.organisation_id in critical_organisations()
    return CallerFacts("known", team=c_team or o_team or "", language=c_lang or o_lang or "",
                       vip=bool(c_vip or o_vip), critical_open=bool(critical))


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


_ORGANISATION: BindParameter[int] = bindparam("organisation_id")
# Built once, with bound parameters: building the expressions anew for every call cost
# more CPU than running them (SQLAlchemy caches the compiled form of a statement it has seen).
_BY_CONTACT = (select(Contact.team, Contact.language, Contact.vip, Organisation.team, Organisation.language,
                      Organisation.vip, _critical(Ticket.contact_id == bindparam("contact_id")))
               .select_from(Contact).outerjoin(Organisation, Organisation.id == Contact.organisation_id)
               .where(Contact.id == bindparam("contact_id")))
# An organisation's number: from the open critical tickets (few), each one's contact's
# organisation by primary key, or the ticket's own organisation (a mail from an address
# no contact has). Starting from the organisation's contacts instead cost 5 ms (SQLite)
# and 11 ms (PostgreSQL) per call at 20,000 contacts. PostgreSQL hashes a join (11 ms
# again), so it gets the contact's organisation as a subquery per ticket; SQLite runs
# the join from the tickets' side, twice as fast as the subquery (bench/bench_agi.py).
_CONTACTS_ORGANISATION = select(Contact.organisation_id).where(Contact.id == Ticket.contact_id).scalar_subquery()
_ORGANISATION_ONLY = (select(literal(""), literal(""), literal(False), Organisation.team, Organisation.language,
                             Organisation.vip, null()).where(Organisation.id == _ORGANISATION))
_CRITICAL_ORGANISATIONS = union(
    select(Contact.organisation_id).select_from(Ticket).join(Contact, Contact.id == Ticket.contact_id)
    .where(_CRITICAL_OPEN),
    select(Ticket.organisation_id).where(_CRITICAL_OPEN, Ticket.organisation_id.is_not(None)))
_BY_ORGANISATION = tuple(
    select(literal(""), literal(""), literal(False), Organisation.team, Organisation.language, Organisation.vip,
           critical).where(Organisation.id == _ORGANISATION)
    for critical in (
        _critical(or_(Ticket.organisation_id == _ORGANISATION, _CONTACTS_ORGANISATION == _ORGANISATION)),
        exists(select(Ticket.id).outerjoin(Contact, Contact.id == Ticket.contact_id)
               .where(_CRITICAL_OPEN, or_(Ticket.organisation_id == _ORGANISATION,
                                          Contact.organisation_id == _ORGANISATION))),
    ))
