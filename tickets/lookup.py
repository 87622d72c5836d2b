"""Customer lookup by caller number: known | ambiguous | unknown | withheld, ranked.

Layer: service (sync, run off the event loop). Normalisation is cti.callerid's;
matching is indexed equality on `phones.normalized`: the E.164 number itself
(a contact's direct number, or an organisation's main number), then its
prefixes (an organisation's number block; the longest block wins). One
statement fetches the number and all its prefixes at once, and a lookup runs it
on an autocommit connection without a ping on checkout: one round trip to
PostgreSQL (no BEGIN, ping or ROLLBACK around it). PostgreSQL binds the keys as
one array, so the statement text never changes and psycopg prepares it after
its `prepare_threshold` (5) uses on a connection. On psycopg a single lookup skips
SQLAlchemy's execution path (1.29 -> 0.62 ms CPU per lookup, same load) and psycopg's
cursor too: the same statement, compiled once, is prepared under a name of its own on
the pooled connection's libpq handle and run there with the keys as one text array
(client CPU about 0.3 -> 0.1 ms, bench/RESULTS.md); a connection the server closed is
invalidated and the lookup runs once more.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import errors, pq
from sqlalchemy import ARRAY, Connection, Engine, String, any_, bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from cti.callerid import NumberKind, normalize
from tickets.db import once_more_if_dropped
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
_COLUMNS = (Phone.normalized, Phone.kind, Phone.contact_id, Phone.organisation_id, Contact.name,
            Organisation.name)
_JOINED = (select(*_COLUMNS).select_from(Phone)
           .outerjoin(Contact, Phone.contact_id == Contact.id)
           .outerjoin(Organisation, Phone.organisation_id == Organisation.id))
# SQLite has no arrays: an expanding IN list (its text varies with the number's length)
_BY_LIST = _JOINED.where(Phone.normalized.in_(bindparam("keys", expanding=True)))
_BY_ARRAY = _JOINED.where(Phone.normalized == any_(bindparam("keys", type_=ARRAY(String))))


# the lookup's name among a connection's prepared statements (psycopg names its own _pg3_<n>)
STATEMENT = b"hotline_lookup"
_NO_SUCH_STATEMENT = b"26000"  # invalid_sql_statement_name: this connection has not (or no longer) prepared it


def _libpq_sql() -> bytes:
    """_BY_ARRAY as libpq takes it: the keys are parameter $1."""
    from sqlalchemy.dialects.postgresql.psycopg import dialect

    compiled = str(_BY_ARRAY.compile(dialect=dialect()))  # type: ignore[no-untyped-call]
    return compiled.replace("%(keys)s", "$1").encode()


def _text_array(keys: list[str]) -> str:
    """['+4934125', '1234'] -> '{"+4934125","1234"}' (PostgreSQL's array literal, each quoted)."""
    return "{" + ",".join('"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"' for k in keys) + "}"


def block_prefixes(e164: str) -> list[str]:
    """Longest first: '+4934125385555' -> '+493412538555', ..., '+49341'."""
    return [e164[:n] for n in range(len(e164) - 1, MIN_BLOCK_DIGITS, -1)]


class CustomerLookup:
    """`engine`: where lookups run (give one of their own, tickets.db.make_engine(url, ping=False,
    generic_plans=True), as the app does); by default the sessions' own engine, in autocommit."""

    def __init__(self, sessions: sessionmaker[Session], default_region: str = "DE",
                 engine: Engine | None = None) -> None:
        self.sessions, self.default_region = sessions, default_region
        bind = engine or sessions.kw["bind"]
        self.engine: Engine = bind.execution_options(isolation_level="AUTOCOMMIT")
        self._raw_sql = _libpq_sql() if (bind.dialect.name, bind.dialect.driver) == ("postgresql", "psycopg") else b""

    def lookup(self, raw: str) -> LookupResult:
        n = normalize(raw, self.default_region)
        if n.kind is NumberKind.WITHHELD:
            return LookupResult(MatchStatus.WITHHELD, None, n.raw, ())
        key = n.e164 or n.extension
        if key is None:
            return LookupResult(MatchStatus.UNKNOWN, None, n.raw, ())
        keys = [key, *block_prefixes(key)] if n.e164 is not None else [key]
        rows = once_more_if_dropped(lambda: self._raw_rows(keys) if self._raw_sql else self._rows(keys))
        status, candidates = _ranked(key, rows)
        return LookupResult(status, key, n.raw, candidates)

    def lookup_many(self, raws: Sequence[str]) -> list[LookupResult]:
        """Several callers in one statement (a burst of calls joining the queue at once)."""
        numbers = [normalize(raw, self.default_region) for raw in raws]
        keys = {k: n.e164 is not None for n in numbers if n.kind is not NumberKind.WITHHELD
                and (k := n.e164 or n.extension)}
        wanted = sorted({x for k, e164 in keys.items() for x in ([k, *block_prefixes(k)] if e164 else [k])})
        by_number: dict[str, list[Any]] = {}
        if wanted:
            with self.engine.connect() as conn:
                for row in _select(conn, wanted):
                    by_number.setdefault(row[0], []).append(row)
        out = []
        for n in numbers:
            key = n.e164 or n.extension
            if n.kind is NumberKind.WITHHELD or key is None:
                status = MatchStatus.WITHHELD if n.kind is NumberKind.WITHHELD else MatchStatus.UNKNOWN
                out.append(LookupResult(status, None, n.raw, ()))
                continue
            rows = [r for k in ([key, *block_prefixes(key)] if keys[key] else [key]) for r in by_number.get(k, ())]
            status, candidates = _ranked(key, rows)
            out.append(LookupResult(status, key, n.raw, candidates))
        return out

    def _rows(self, keys: list[str]) -> Sequence[Any]:
        with self.engine.connect() as conn:
            return _select(conn, keys)

    def _raw_rows(self, keys: list[str]) -> Sequence[Any]:
        """The same statement (compiled once) on the pooled connection's libpq handle: SQLAlchemy's
        execution path cost about 1 ms CPU per lookup, psycopg's cursor (parameter adaptation,
        its prepared-statement bookkeeping) about 0.2 ms more than libpq itself. One statement
        needs no transaction of its own, so nothing is sent but the prepared statement's run.
        The statement is prepared on a connection's first lookup, and again when it is gone
        (psycopg deallocates all prepared statements after some rollbacks)."""
        fairy = self.engine.raw_connection()
        conn = fairy.driver_connection
        try:
            pgconn = conn.pgconn  # type: ignore[union-attr]
            encoding = conn.info.encoding  # type: ignore[union-attr]
            array = _text_array(keys).encode(encoding)
            res = pgconn.exec_prepared(STATEMENT, [array])
            if res.error_field(pq.DiagnosticField.SQLSTATE) == _NO_SUCH_STATEMENT:
                _check(pgconn.prepare(STATEMENT, self._raw_sql), encoding)
                res = pgconn.exec_prepared(STATEMENT, [array])
            _check(res, encoding)
            rows = [_row(res, i, encoding) for i in range(res.ntuples)]
        except Exception as exc:
            closed = bool(getattr(conn, "closed", False))  # the server ended the session: a new one next time
            if closed:
                fairy.invalidate(exc)
            wrapped = DBAPIError.instance(self._raw_sql.decode(), {"keys": keys}, exc, Exception,
                                          connection_invalidated=closed)
            raise wrapped from exc
        finally:
            fairy.close()
        return rows


def _check(res: pq.abc.PGresult, encoding: str) -> None:
    if res.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        raise errors.error_from_result(res, encoding)


def _row(res: pq.abc.PGresult, i: int, encoding: str) -> tuple[Any, ...]:
    """Row i of the lookup's text-format result, typed as SQLAlchemy would give it."""
    number, kind, contact_id, organisation_id, contact, org = (res.get_value(i, j) for j in range(6))
    assert number is not None and kind is not None  # NOT NULL columns
    return (number.decode(encoding), PhoneKind(kind.decode(encoding)),
            None if contact_id is None else int(contact_id), None if organisation_id is None else int(organisation_id),
            None if contact is None else contact.decode(encoding), None if org is None else org.decode(encoding))


def fetch(conn: Connection | Session, key: str, e164: bool) -> Sequence[Any]:
    """The phones stored under `key` and (for E.164) its block prefixes, in one statement."""
    return _select(conn, [key, *block_prefixes(key)] if e164 else [key])


def _select(conn: Connection | Session, keys: list[str]) -> Sequence[Any]:
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    stmt = _BY_ARRAY if dialect == "postgresql" else _BY_LIST
    return conn.execute(stmt, {"keys": keys}).all()


def rank(session: Session, key: str, e164: bool) -> tuple[MatchStatus, tuple[Candidate, ...]]:
    """Candidates for a normalised number (E.164 or extension), best first, in `session`."""
    return _ranked(key, fetch(session, key, e164))


def _ranked(key: str, rows: Sequence[Any]) -> tuple[MatchStatus, tuple[Candidate, ...]]:
    """Exact non-block matches first; only without them the longest block prefix."""
    exact = [r for r in rows if r[0] == key and r[1] is not PhoneKind.BLOCK]
    blocks = [r for r in rows if r[0] != key and r[1] is PhoneKind.BLOCK]
    if not exact and blocks:
        longest = max(len(r[0]) for r in blocks)
        exact = [r for r in blocks if len(r[0]) == longest]
    candidates = sorted((_candidate(*r) for r in exact), key=lambda c: (c.rank, c.name))
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


def _candidate(_number: str, kind: PhoneKind, contact_id: int | None, organisation_id: int | None,
               contact_name: str | None, org_name: str | None) -> Candidate:
    # a contact row's organisation is its phone's, as before: a direct number names no organisation
    name = contact_name if contact_id is not None else (org_name or "")
    return Candidate(contact_id=contact_id, organisation_id=organisation_id, name=name or "",
                     reason=kind.value, rank=_RANK[kind])
