"""Customers: contacts with their organisation and direct numbers; CSV import and export.

Layer: service (sync, run off the event loop). Must not import agent_console.
Numbers are normalised by cti.callerid exactly as tickets.lookup normalises a
caller, so a number imported here is what the screen pop finds. Every text is
stored verbatim as plain text (an HTML name stays that text); control
characters, line breaks and undecodable bytes are refused instead.

CSV: a header line naming the columns (`name` and `phones` required, any
order), several phones in one field separated by ";". A bad row is reported
with the line it starts on and skipped; good rows go in with bulk inserts, one
transaction per batch (batches already committed stay if a later one fails).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import insert, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from cti.callerid import NumberKind, normalize
from tickets.models import Contact, Organisation, Phone, PhoneKind

COLUMNS = ("name", "organization", "phones", "email", "language", "team")
REQUIRED = ("name", "phones")
_ALIASES = {"organisation": "organization"}
LANGUAGES = ("de", "en")
PHONE_SEPARATOR = ";"
MAX_NAME, MAX_TEAM, MAX_EMAIL, MAX_PHONES = 200, 100, 254, 20
MAX_SEARCH_LIMIT = 500
_IN_CHUNK = 500  # names or ids per IN (...) list
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMBERISH = re.compile(r"^\+?[\d\s\-/().]+$")
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

ContactDict = dict[str, Any]


ANALYZE_AFTER = 1000  # rows imported at once that call for fresh planner statistics


class CustomerError(ValueError):
    """A customer (or a CSV file) could not be taken; the message says why."""


@dataclass(slots=True)
class ImportReport:
    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), by line


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A validated customer: texts stripped, phones as (raw, normalized)."""

    name: str
    organization: str
    phones: tuple[tuple[str, str], ...]
    email: str
    language: str
    team: str

    def keys(self) -> list[tuple[str, str]]:
        """What makes it a duplicate: the name with any of its numbers (or with none)."""
        return [(self.name, n) for _, n in self.phones] or [(self.name, "")]


def _show(value: str) -> str:
    """A value quoted for a message: escapes control characters, cut at 40."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def clean_text(what: str, value: str, limit: int, required: bool = False) -> str:
    if not value.isprintable():  # fast path skipped for plain text
        if any("\udc80" <= ch <= "\udcff" for ch in value):
            raise CustomerError(f"{what}: not valid UTF-8")
        if any(unicodedata.category(ch) in _BAD_CATEGORIES or ch in _BIDI for ch in value):
            raise CustomerError(f"{what}: control characters (line breaks, tabs, NUL) are not allowed")
    value = value.strip()
    if required and not value:
        raise CustomerError(f"{what}: must not be empty")
    if len(value) > limit:
        raise CustomerError(f"{what}: at most {limit} characters")
    return value


def parse_phone(raw: str, region: str = "DE") -> tuple[str, str]:
    """(raw, normalized) for a number or an extension, else CustomerError naming it."""
    text = raw.strip()
    n = normalize(text, region)
    key = n.e164 or n.extension
    if PHONE_SEPARATOR in text or n.kind not in (NumberKind.NUMBER, NumberKind.EXTENSION) or not key:
        raise CustomerError(f"phone {_show(text)}: not a phone number")
    return n.raw, key


def parse_customer(name: str, organization: str = "", phones: Iterable[str] = (), email: str = "",
                   language: str = "de", team: str = "", region: str = "DE") -> CustomerRow:
    if isinstance(phones, str):
        phones = (phones,)
    parsed: dict[str, str] = {}  # normalized -> raw, first raw wins
    for raw in phones:
        if raw.strip():
            number_raw, key = parse_phone(raw, region)
            parsed.setdefault(key, number_raw)
    if len(parsed) > MAX_PHONES:
        raise CustomerError(f"phones: at most {MAX_PHONES}")
    email = clean_text("email", email, MAX_EMAIL)
    if email and not _EMAIL.match(email):
        raise CustomerError(f"email {_show(email)}: not an e-mail address")
    language = clean_text("language", language, 10).lower() or "de"
    if language not in LANGUAGES:
        raise CustomerError(f"language {_show(language)}: one of {', '.join(LANGUAGES)}")
    return CustomerRow(name=clean_text("name", name, MAX_NAME, required=True),
                       organization=clean_text("organization", organization, MAX_NAME),
                       phones=tuple((raw, key) for key, raw in parsed.items()),
                       email=email, language=language, team=clean_text("team", team, MAX_TEAM))


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet cell a formula


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (OWASP "CSV injection"), behind an
    apostrophe, which spreadsheets show as text; `csv_cells` takes it off again."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def csv_cells(fields: list[str]) -> list[str]:
    """The cells as exported values read back: a neutralised formula loses its apostrophe."""
    return [f[1:] if f.startswith("'") and f[1:].startswith(FORMULA_START) else f for f in fields]


def csv_records(reader: Any, errors: list[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, fields); blank records skipped, unreadable ones reported."""
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append((line, f"unreadable CSV: {exc}"))
            if reader.line_num < line:
                return
            continue
        if any(f.strip() for f in fields):
            yield line, csv_cells(fields)


def read_header(records: Iterator[tuple[int, list[str]]]) -> list[str]:
    first = next(records, None)
    if first is None:
        raise CustomerError(f"the file is empty; the first line must name the columns: {','.join(COLUMNS)}")
    names = [f.strip().lstrip("\ufeff").strip().lower() for f in first[1]]
    names = [_ALIASES.get(n, n) for n in names]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise CustomerError(f"header: unknown column {_show(unknown[0])}; the first line must name the "
                            f"columns, some of: {','.join(COLUMNS)}")
    if len(set(names)) != len(names):
        raise CustomerError("header: a column is named twice")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise CustomerError(f"header: required column {missing[0]!r} is missing")
    return names


class _Progress:
    def __init__(self, callback: Callable[[int], None] | None, every: int) -> None:
        self.callback, self.every, self.done, self.told = callback, every, 0, 0

    def step(self, force: bool = False) -> None:
        if self.callback and self.done > self.told and (force or self.done - self.told >= self.every):
            self.callback(self.done - self.told)
            self.told = self.done


class CustomerService:
    def __init__(self, sessions: sessionmaker[Session], default_region: str = "DE") -> None:
        self.sessions, self.default_region = sessions, default_region

    # -- single contacts -------------------------------------------------------------------------

    def create(self, name: str, organization: str = "", phones: Iterable[str] = (), email: str = "",
               language: str = "de", team: str = "") -> ContactDict:
        row = parse_customer(name, organization, phones, email, language, team, self.default_region)
        with self.sessions.begin() as s:
            org_id = self._organisation_ids(s, [row.organization], {}).get(row.organization)
            contact = Contact(name=row.name, email=row.email, language=row.language, team=row.team,
                              organisation_id=org_id)
            s.add(contact)
            s.flush()
            s.add_all([Phone(raw=raw, normalized=key, kind=PhoneKind.DIRECT, contact_id=contact.id)
                       for raw, key in row.phones])
            s.flush()
            return self.dicts(s, [contact])[0]

    def get(self, contact_id: int) -> ContactDict | None:
        with self.sessions() as s:
            contact = s.get(Contact, contact_id)
            return self.dicts(s, [contact])[0] if contact else None

    def get_many(self, contact_ids: Iterable[int]) -> dict[int, ContactDict]:
        """Several contacts at once (the pops of a burst of calls), by id."""
        wanted = sorted(set(contact_ids))
        if not wanted:
            return {}
        with self.sessions() as s:
            contacts = [c for chunk in _chunks(wanted) for c in s.scalars(select(Contact).where(Contact.id.in_(chunk)))]
            return {d["id"]: d for d in self.dicts(s, contacts)}

    def search(self, q: str = "", limit: int = 50) -> list[ContactDict]:
        """Name or organisation substring (case-insensitive), or a number: normalized equality."""
        q, limit = q.strip()[:MAX_NAME], max(1, min(limit, MAX_SEARCH_LIMIT))
        if q and not q.isprintable():
            return []
        stmt = select(Contact).outerjoin(Organisation, Contact.organisation_id == Organisation.id)
        digits = sum(ch.isdigit() for ch in q)
        n = normalize(q, self.default_region) if digits >= 3 and _NUMBERISH.match(q) else None
        if n is not None and (n.e164 or n.extension):
            stmt = stmt.where(Contact.id.in_(select(Phone.contact_id).where(
                Phone.normalized == (n.e164 or n.extension), Phone.kind == PhoneKind.DIRECT)))
        elif q:
            stmt = stmt.where(or_(Contact.name.icontains(q, autoescape=True),
                                  Organisation.name.icontains(q, autoescape=True)))
        with self.sessions() as s:
            contacts = list(s.scalars(stmt.order_by(Contact.name, Contact.id).limit(limit)))
            return self.dicts(s, contacts)

    def count(self) -> int:
        with self.sessions() as s:
            return len(s.scalars(select(Contact.id)).all())

    @staticmethod
    def dicts(s: Session, contacts: Sequence[Contact]) -> list[ContactDict]:
        org_ids = sorted({c.organisation_id for c in contacts if c.organisation_id is not None})
        orgs = {o.id: o for chunk in _chunks(org_ids)
                for o in s.scalars(select(Organisation).where(Organisation.id.in_(chunk)))}
        phones = _direct_phones(s, [c.id for c in contacts])
        out = []
        for c in contacts:
            org = orgs.get(c.organisation_id) if c.organisation_id is not None else None
            out.append({
                "id": c.id, "name": c.name, "email": c.email, "language": c.language,
                "team": c.team or (org.team if org else ""),
                "organization": {"id": org.id, "name": org.name, "team": org.team} if org else None,
                "phones": [{"raw": raw, "number": key, "kind": PhoneKind.DIRECT.value}
                           for raw, key in phones.get(c.id, [])],
            })
        return out

    @staticmethod
    def _organisation_ids(s: Session, names: Iterable[str], cache: dict[str, int]) -> dict[str, int]:
        """Name -> id for each non-empty name, creating the missing organisations; `cache` is kept."""
        missing = sorted({n for n in names if n and n not in cache})
        for chunk in _chunks(missing):
            cache.update(s.execute(select(Organisation.name, Organisation.id)
                                   .where(Organisation.name.in_(chunk))).all())
        new = [{"name": n, "team": "", "language": "de"} for n in missing if n not in cache]
        if new:
            ids = s.scalars(insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True), new)
            cache.update(zip((o["name"] for o in new), ids, strict=True))
        return cache

    # -- CSV -------------------------------------------------------------------------------------

    def import_csv(self, lines: Iterable[str] | TextIO, progress: Callable[[int], None] | None = None,
                   batch: int = 2000) -> ImportReport:
        """Import contacts from CSV text (open files with newline=""); `progress(n)`: n more records done.

        Raises CustomerError when the header is missing or wrong; bad rows are reported, not raised.
        """
        report = ImportReport()
        records = csv_records(csv.reader(lines), report.errors)
        header = read_header(records)
        seen: dict[tuple[str, str], int] = {}
        orgs: dict[str, int] = {}
        pending: list[tuple[int, CustomerRow]] = []
        ticker = _Progress(progress, max(1, batch))
        for line, fields in records:
            ticker.done += 1
            row = self._csv_row(header, fields, line, seen, report)
            if row is not None:
                pending.append((line, row))
            if len(pending) >= batch:
                self._insert_batch(pending, orgs, report)
                ticker.step(force=True)
            ticker.step()
        self._insert_batch(pending, orgs, report)
        ticker.step(force=True)
        report.errors.sort(key=lambda e: e[0])
        if report.imported >= ANALYZE_AFTER:
            self._analyze()
        return report

    def _analyze(self) -> None:
        """Fresh planner statistics after a bulk load: without them PostgreSQL guessed
        thousands of rows per number and scanned (9.6 ms per lookup instead of 1.5 ms,
        bench/bench_lookup.py); SQLite's ANALYZE feeds its planner the same way."""
        with self.sessions.begin() as s:
            s.execute(text("ANALYZE phones" if s.get_bind().dialect.name == "postgresql" else "ANALYZE"))

    def _csv_row(self, header: list[str], fields: list[str], line: int, seen: dict[tuple[str, str], int],
                 report: ImportReport) -> CustomerRow | None:
        if len(fields) != len(header):
            report.errors.append((line, f"{len(fields)} columns, expected {len(header)}"))
            return None
        values = dict(zip(header, fields, strict=True))
        try:
            row = parse_customer(values["name"], values.get("organization", ""),
                                 values["phones"].split(PHONE_SEPARATOR), values.get("email", ""),
                                 values.get("language", "") or "de", values.get("team", ""), self.default_region)
        except CustomerError as exc:
            report.errors.append((line, str(exc)))
            return None
        first = seen.get(row.keys()[0])
        if first is not None:
            report.errors.append((line, f"duplicate of line {first} (same name and number)"))
            return None
        for key in row.keys():
            seen.setdefault(key, line)
        return row

    def _insert_batch(self, pending: list[tuple[int, CustomerRow]], orgs: dict[str, int],
                      report: ImportReport) -> None:
        if not pending:
            return
        with self.sessions.begin() as s:
            stored = _stored_keys(s, [row.keys()[0] for _, row in pending])
            fresh = []
            for line, row in pending:
                if row.keys()[0] in stored:
                    report.errors.append((line, "duplicate: a contact with this name and number exists already"))
                else:
                    fresh.append(row)
            self._organisation_ids(s, (row.organization for row in fresh), orgs)
            contacts = [{"name": r.name, "email": r.email, "language": r.language, "team": r.team,
                         "organisation_id": orgs.get(r.organization)} for r in fresh]
            ids = list(s.scalars(insert(Contact).returning(Contact.id, sort_by_parameter_order=True), contacts)
                       if contacts else [])
            phones = [{"raw": raw, "normalized": key, "kind": PhoneKind.DIRECT, "contact_id": cid}
                      for cid, row in zip(ids, fresh, strict=True) for raw, key in row.phones]
            if phones:
                s.execute(insert(Phone), phones)
        report.imported += len(fresh)
        pending.clear()

    def export_csv(self, out: TextIO, chunk: int = 2000) -> int:
        """Write every contact as CSV (open files with newline=""); returns the number of contacts."""
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        count, last = 0, 0
        while True:
            with self.sessions() as s:
                rows = s.execute(select(Contact, Organisation.name)
                                 .outerjoin(Organisation, Contact.organisation_id == Organisation.id)
                                 .where(Contact.id > last).order_by(Contact.id).limit(chunk)).all()
                phones = _direct_phones(s, [c.id for c, _ in rows])
            if not rows:
                return count
            writer.writerows([neutralise(cell) for cell in (
                c.name, org or "", PHONE_SEPARATOR.join(raw for raw, _ in phones.get(c.id, [])),
                c.email, c.language, c.team)] for c, org in rows)
            count, last = count + len(rows), rows[-1][0].id


def _direct_phones(s: Session, contact_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """contact id -> [(raw, normalized)] of its direct numbers, in the order they were stored."""
    out: dict[int, list[tuple[str, str]]] = {}
    for chunk in _chunks(contact_ids):
        for cid, raw, key in s.execute(select(Phone.contact_id, Phone.raw, Phone.normalized)
                                       .where(Phone.contact_id.in_(chunk), Phone.kind == PhoneKind.DIRECT)
                                       .order_by(Phone.id)):
            if cid is not None:
                out.setdefault(cid, []).append((raw, key))
    return out


def _stored_keys(s: Session, wanted: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (name, number) keys are stored: a contact with that name has that direct number,
    or (name, "") a contact with that name has no number. Looked up by the indexed number."""
    keys: set[tuple[str, str]] = set()
    numbers = sorted({n for _, n in wanted if n})
    for chunk in _chunks(numbers):
        keys.update(s.execute(select(Contact.name, Phone.normalized).join(Contact, Phone.contact_id == Contact.id)
                              .where(Phone.normalized.in_(chunk), Phone.kind == PhoneKind.DIRECT)).all())
    bare = sorted({name for name, n in wanted if not n})
    has_phone = select(Phone.id).where(Phone.contact_id == Contact.id, Phone.kind == PhoneKind.DIRECT).exists()
    for chunk in _chunks(bare):
        keys.update((name, "") for name in s.scalars(select(Contact.name).where(Contact.name.in_(chunk), ~has_phone)))
    return {(name, n) for name, n in keys}
