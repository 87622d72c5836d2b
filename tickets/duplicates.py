"""Which stored contacts a new one would duplicate: the same name in the same
organisation (case-insensitive; no organisation matches no organisation), or a
contact that already has one of its direct numbers.

Layer: service (sync; run it off the event loop). The CSV import has its own,
stricter-keyed check (tickets.customers: name and number) and does not use this.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from tickets.customers import ContactDict, CustomerRow, CustomerService
from tickets.models import Contact, Organisation, Phone, PhoneKind

MAX_CANDIDATES = 10


def duplicate_candidates(sessions: sessionmaker[Session], row: CustomerRow) -> list[ContactDict]:
    """The contacts `row` would duplicate, by id, at most MAX_CANDIDATES (as GET /api/customers shows them)."""
    org = select(Organisation.id).where(func.lower(Organisation.name) == row.organization.lower())
    same_org = Contact.organisation_id.in_(org) if row.organization else Contact.organisation_id.is_(None)
    same_name = (func.lower(Contact.name) == row.name.lower()) & same_org
    numbers = [key for _, key in row.phones]
    shares_number = Contact.id.in_(select(Phone.contact_id).where(
        Phone.normalized.in_(numbers), Phone.kind == PhoneKind.DIRECT)) if numbers else None
    where = or_(same_name, shares_number) if shares_number is not None else same_name
    with sessions() as s:
        found = list(s.scalars(select(Contact).where(where).order_by(Contact.id).limit(MAX_CANDIDATES)))
        return CustomerService.dicts(s, found)
