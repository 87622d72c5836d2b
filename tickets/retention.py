"""Retention (GDPR): call records and callback items older than N days are deleted.

Layer: service (sync, run off the event loop). Must not import agent_console.
Tickets stay (they are the help desk's record of work) but lose their link to
the purged call: the caller's number lives only in call records and callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tickets.models import Callback, CallRecord


@dataclass(frozen=True, slots=True)
class Purged:
    call_records: int
    callbacks: int


def _deleted(result: Result[Any]) -> int:
    """Rows a DELETE removed (a DML statement's result is a CursorResult)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def purge(sessions: sessionmaker[Session], days: int, now: datetime) -> Purged:
    """Delete what is older than `days` (0 or less: keep everything)."""
    if days <= 0:
        return Purged(0, 0)
    cutoff = now - timedelta(days=days)
    old = or_(CallRecord.ended_at < cutoff, (CallRecord.ended_at.is_(None)) & (CallRecord.entered_at < cutoff))
    with sessions.begin() as s:
        gone_callbacks = select(Callback.id).where(Callback.last_call_at < cutoff)
        s.execute(update(CallRecord).where(CallRecord.callback_id.in_(gone_callbacks)).values(callback_id=None))
        records = _deleted(s.execute(delete(CallRecord).where(old)))
        callbacks = _deleted(s.execute(delete(Callback).where(Callback.last_call_at < cutoff)))
    return Purged(records, callbacks)
