"""Which calls in Asterisk's queue_log have no finished call record yet.

Layer: service (sync, run off the event loop). Must not import agent_console.
The updates for those calls go through the same DbWriter and TicketService as
live ones, so a call gets its record and ticket exactly once however it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cti.queue_log import LoggedCall
from tickets.models import CallRecord


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
