"""Calls in Asterisk's queue_log that have no finished call record yet.

Layer: service (sync: file and database reads, run off the event loop). Must
not import agent_console. The updates for those calls go through the same
DbWriter and TicketService as live ones, so a call gets its record and ticket
exactly once however it arrives; the async shell that runs this after a
(re)connect is agent_console.jobs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cti import queue_log
from cti.events import CallUpdated
from cti.queue_log import LoggedCall
from tickets.models import CallRecord

QUEUE_LOG_TAIL = 32 * 1024 * 1024  # bytes of queue_log read: the last day or so of a busy desk


def read_tail(path: Path, limit: int = QUEUE_LOG_TAIL) -> list[str]:
    """The lines of the file's last `limit` bytes (the first, maybe cut, dropped)."""
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - limit))
        data = fh.read()
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[1:] if size > limit else lines


def unrecorded(sessions: sessionmaker[Session], calls: Sequence[LoggedCall]) -> list[LoggedCall]:
    """The calls whose record is missing or not finalized (no outcome)."""
    done: set[str] = set()
    ids = [c.linkedid for c in calls]
    with sessions() as s:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            done.update(s.scalars(select(CallRecord.linkedid).where(
                CallRecord.linkedid.in_(chunk), CallRecord.outcome.is_not(None))))
    return [c for c in calls if c.linkedid not in done]


@dataclass(frozen=True, slots=True)
class Reconciler:
    """Reads `path` (Asterisk's queue_log) and says which calls of the last `hours`
    ended without a finished record, as the updates the writer needs."""

    sessions: sessionmaker[Session]
    path: Path
    hours: float
    default_region: str

    def missing(self, now: datetime, members: Mapping[str, str]) -> list[LoggedCall]:
        """`members`: queue member name -> interface (queue_log names the agent by member name)."""
        since = now - timedelta(hours=self.hours)
        calls = [c for c in queue_log.finished_calls(read_tail(self.path), members) if c.ended_at >= since]
        return unrecorded(self.sessions, calls)

    def updates(self, call: LoggedCall) -> list[CallUpdated]:
        return queue_log.as_updates(call, self.default_region)
