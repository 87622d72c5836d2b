"""What routing needs to know about a caller, read from the database.

Layer: service (sync; the FastAGI script runs it off the event loop). Starts
from the ranked lookup (tickets.lookup, the same match the pop shows) and reads
the contact's and organisation's team, language and VIP flag and whether the
contact (or, for an organisation's number, any of its contacts) has an open
critical ticket: one indexed statement after the lookup's, on its autocommit engine.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Engine, Exists, bindparam, exists, literal, select

from tickets.lookup import LookupResult, MatchStatus
from tickets.models import Contact, Organisation, Priority, Ticket, TicketStatus
from tickets.routing import CallerFacts

_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


def caller_facts(engine: Engine, match: LookupResult) -> CallerFacts:
    if match.status is not MatchStatus.KNOWN:
        return CallerFacts(match.status.value)
    best = match.candidates[0]
    # a contact's own number: the contact, its organisation; an organisation's main number
    # or block: any of its contacts' tickets
    stmt, params = ((_BY_CONTACT, {"contact_id": best.contact_id}) if best.contact_id is not None else
                    (_BY_ORGANISATION, {"organisation_id": best.organisation_id}))
    with engine.connect() as conn:  # one statement, one round trip
        row = conn.execute(stmt, params).first()
    if row is None:  # deleted since the lookup
        return CallerFacts(MatchStatus.UNKNOWN.value)
    c_team, c_lang, c_vip, o_team, o_lang, o_vip, critical = row
    return CallerFacts("known", team=c_team or o_team or "", language=c_lang or o_lang or "",
                       vip=bool(c_vip or o_vip), critical_open=bool(critical))


def _critical(whose: ColumnElement[bool]) -> Exists:
    return exists().where(whose, Ticket.priority == Priority.CRITICAL, Ticket.status.in_(_OPEN))


# Built once, with bound parameters: building the expressions anew for every call cost
# more CPU than running them (SQLAlchemy caches the compiled form of a statement it has seen).
_BY_CONTACT = (select(Contact.team, Contact.language, Contact.vip, Organisation.team, Organisation.language,
                      Organisation.vip, _critical(Ticket.contact_id == bindparam("contact_id")))
               .select_from(Contact).outerjoin(Organisation, Organisation.id == Contact.organisation_id)
               .where(Contact.id == bindparam("contact_id")))
_BY_ORGANISATION = (select(literal(""), literal(""), literal(False), Organisation.team, Organisation.language,
                           Organisation.vip,
                           _critical(Ticket.contact_id.in_(select(Contact.id).where(
                               Contact.organisation_id == bindparam("organisation_id")))))
                    .where(Organisation.id == bindparam("organisation_id")))
