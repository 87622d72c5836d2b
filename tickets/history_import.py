"""Asterisk's queue_log (years of it) into call records, so a desk sees its past on day one.

Layer: service (sync: file and database). Must not import agent_console. The
file is parsed by cti.queue_log exactly as the reconcile path reads it
(QueueLogReader, then as_updates for the record a live bridge would have
written); the lines are streamed in chunks, so a large file is never held whole.
Idempotent: a call whose Linkedid is already recorded (imported before, or seen
live) is left as it is. History makes no tickets and no callback work items: the
past is for reports, not for today's work lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from cti import queue_log
from cti.queue_log import LoggedCall
from tickets.lookup import direct_contact
from tickets.models import CallRecord
from tickets.report_agg_marks import calls_where, mark
from tickets.sites import DEFAULT_SITE

CHUNK_LINES = 20_000


@dataclass
class ImportCounts:
    read: int = 0  # finished calls found in the file
    added: int = 0  # new call records
    known: int = 0  # already recorded: left alone


def _lines(path: Path, chunk: int) -> Iterator[list[str]]:
    with path.open("rb") as fh:
        batch: list[str] = []
        for raw in fh:
            batch.append(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            if len(batch) >= chunk:
                yield batch
                batch = []
        if batch:
            yield batch


def record_values(call: LoggedCall, region: str) -> dict[str, Any]:
    """The call record a live bridge would have written at the call's end."""
    snapshot = queue_log.as_updates(call, region)[-1].call
    return {"linkedid": snapshot.linkedid, "caller_number": snapshot.caller_number,
            "caller_raw": snapshot.caller_raw[:64], "queue": snapshot.queue, "entered_at": snapshot.entered_at,
            "answered_at": snapshot.answered_at, "ended_at": snapshot.ended_at,
            "wait_seconds": snapshot.wait_seconds, "ring_seconds": snapshot.ring_seconds,
            "talk_seconds": snapshot.talk_seconds, "duration_seconds": snapshot.duration_seconds,
            "position": snapshot.position, "agent": snapshot.agent,
            "outcome": snapshot.outcome.value if snapshot.outcome else None}


def _store(session: Session, calls: Iterable[LoggedCall], region: str, contacts: dict[str, int | None],
           site: str = DEFAULT_SITE) -> int:
    rows = []
    for call in calls:
        values = record_values(call, region)
        number = values["caller_number"]
        if number and number not in contacts:
            contacts[number] = direct_contact(session, number)
        rows.append({**values, "site": site, "contact_id": contacts.get(number) if number else None})
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(CallRecord) if dialect == "postgresql" else sqlite.insert(CallRecord)
    stmt = insert.values(rows).on_conflict_do_nothing(index_elements=["site", "linkedid"]).returning(CallRecord.id)
    added = [row[0] for row in session.execute(stmt)]  # RETURNING names the rows added (rowcount is -1 on psycopg)
    conn = session.connection()
    mark(conn, calls_where(conn, CallRecord.id.in_(added)))  # the report aggregates of their hours
    return len(added)


def import_queue_log(sessions: sessionmaker[Session], path: Path, region: str = "DE",
                     members: Mapping[str, str] | None = None, chunk: int = CHUNK_LINES,
                     progress: Callable[[ImportCounts], None] | None = None,
                     site: str = DEFAULT_SITE) -> ImportCounts:
    """Every finished call in `path` (the queue_log of `site`'s Asterisk) as a call record
    of that site (one transaction per chunk).
    `members`: queue_log's member names -> interfaces (PJSIP/1001); unknown names stay as logged."""
    reader, counts = queue_log.QueueLogReader(), ImportCounts()
    contacts: dict[str, int | None] = {}
    for lines in _lines(path, chunk):
        calls = reader.feed(lines, members or {})
        for start in range(0, len(calls), 500):
            part = calls[start:start + 500]
            with sessions.begin() as s:
                added = _store(s, part, region, contacts, site)
            counts.read += len(part)
            counts.added += added
            counts.known += len(part) - added
        if progress is not None:
            progress(counts)
    return counts
