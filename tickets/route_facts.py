"""What routing needs to know about a caller, read from the database.

Layer: service (sync; the FastAGI script runs it off the event loop). Starts
from the ranked lookup (tickets.lookup, the same match the pop shows) and reads
the contact's and organisation's team, language and VIP flag and whether the
contact (or, for an organisation's number, any of its contacts) has an open
critical ticket: two indexed statements on the lookup's autocommit engine.
"""

from __future__ import annotations

from sqlalchemy import Engine, exists, select

from tickets.lookup import LookupResult, MatchStatus
from tickets.models import Contact, Organisation, Priority, Ticket, TicketStatus
from tickets.routing import CallerFacts

_OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


def caller_facts(engine: Engine, match: LookupResult) -> CallerFacts:
    if match.status is not MatchStatus.KNOWN:
        return CallerFacts(match.status.value)
    best = match.candidates[0]
    with engine.connect() as conn:
        contact = org = None
        if best.contact_id is not None:
            contact = conn.execute(select(Contact.team, Contact.language, Contact.vip, Contact.organisation_id)
                                   .where(Contact.id == best.contact_id)).first()
        org_id = best.organisation_id if contact is None else contact.organisation_id
        if org_id is not None:
            org = conn.execute(select(Organisation.team, Organisation.language, Organisation.vip)
                               .where(Organisation.id == org_id)).first()
        whose = (Ticket.contact_id == best.contact_id if best.contact_id is not None else
                 Ticket.contact_id.in_(select(Contact.id).where(Contact.organisation_id == org_id)))
        critical = bool(conn.execute(select(exists().where(
            whose, Ticket.priority == Priority.CRITICAL, Ticket.status.in_(_OPEN)))).scalar())
    team = (contact.team if contact is not None and contact.team else org.team if org is not None else "")
    language = (contact.language if contact is not None else org.language if org is not None else "")
    vip = bool((contact is not None and contact.vip) or (org is not None and org.vip))
    return CallerFacts("known", team=team, language=language, vip=vip, critical_open=critical)
