"""Customer lookup by caller number: known | ambiguous | unknown | withheld, ranked.

Layer: service (sync, run off the event loop). Normalisation is cti.callerid's;
matching is indexed equality on `phones.normalized`: the E.164 number itself
(a contact's direct number, or an organisation's main number), then its
prefixes (an organisation's number block; the longest block wins).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cti.callerid import NumberKind, normalize
from tickets.models import Contact, Organisation, Phone, PhoneKind

MIN_BLOCK_DIGITS = 6  # "+49341" is a city, not a customer's number block


class MatchStatus(enum.StrEnum):
    KNOWN = "known"
    AMBIGUOUS = "ambiguous"
    UNKNOWN = "unknown"
    WITHHELD = "withheld"


@dataclass(frozen=True, slots=True)
class Candidate:
    contact_id: int | None
    organisation_id: int | None
    name: str
    reason: str  # direct | main | block
    rank: int  # lower is better


@dataclass(frozen=True, slots=True)
class LookupResult:
    status: MatchStatus
    number: str | None  # E.164 (or extension digits)
    raw: str
    candidates: tuple[Candidate, ...]


_RANK = {PhoneKind.DIRECT: 0, PhoneKind.MAIN: 1, PhoneKind.BLOCK: 2}


def block_prefixes(e164: str) -> list[str]:
    """Longest first: '+4934125385555' -> '+493412538555', ..., '+49341'."""
    return [e164[:n] for n in range(len(e164) - 1, MIN_BLOCK_DIGITS, -1)]


class CustomerLookup:
    def __init__(self, sessions: sessionmaker[Session], default_region: str = "DE") -> None:
        self.sessions, self.default_region = sessions, default_region

    def lookup(self, raw: str) -> LookupResult:
        n = normalize(raw, self.default_region)
        if n.kind is NumberKind.WITHHELD:
            return LookupResult(MatchStatus.WITHHELD, None, n.raw, ())
        key = n.e164 or n.extension
        if key is None:
            return LookupResult(MatchStatus.UNKNOWN, None, n.raw, ())
        with self.sessions() as session:
            status, candidates = rank(session, key, e164=n.e164 is not None)
        return LookupResult(status, key, n.raw, candidates)


def rank(session: Session, key: str, e164: bool) -> tuple[MatchStatus, tuple[Candidate, ...]]:
    """Candidates for a normalised number (E.164 or extension), best first, in `session`."""
    candidates = _exact(session, key) or (_block(session, key) if e164 else [])
    candidates.sort(key=lambda c: (c.rank, c.name))
    best = [c for c in candidates if c.rank == candidates[0].rank] if candidates else []
    status = (MatchStatus.UNKNOWN if not best else
              MatchStatus.KNOWN if len(best) == 1 else MatchStatus.AMBIGUOUS)
    return status, tuple(candidates)


def direct_contact(session: Session, number: str | None) -> int | None:
    """The contact whose own number this is, if exactly one; else None (the agent chooses)."""
    if not number:
        return None
    status, candidates = rank(session, number, e164=number.startswith("+"))
    if status is MatchStatus.KNOWN and candidates[0].reason == PhoneKind.DIRECT.value:
        return candidates[0].contact_id
    return None


def _exact(session: Session, key: str) -> list[Candidate]:
    rows = session.execute(
        select(Phone, Contact, Organisation)
        .outerjoin(Contact, Phone.contact_id == Contact.id)
        .outerjoin(Organisation, Phone.organisation_id == Organisation.id)
        .where(Phone.normalized == key, Phone.kind != PhoneKind.BLOCK)).all()
    return [_candidate(p, c, o) for p, c, o in rows]


def _block(session: Session, e164: str) -> list[Candidate]:
    prefixes = block_prefixes(e164)
    rows = session.execute(
        select(Phone, Organisation).join(Organisation, Phone.organisation_id == Organisation.id)
        .where(Phone.normalized.in_(prefixes), Phone.kind == PhoneKind.BLOCK)).all()
    if not rows:
        return []
    longest = max(len(p.normalized) for p, _ in rows)
    return [_candidate(p, None, o) for p, o in rows if len(p.normalized) == longest]


def _candidate(phone: Phone, contact: Contact | None, org: Organisation | None) -> Candidate:
    name = contact.name if contact else (org.name if org else "")
    return Candidate(contact_id=contact.id if contact else None,
                     organisation_id=org.id if org else phone.organisation_id,
                     name=name, reason=phone.kind.value, rank=_RANK[phone.kind])
