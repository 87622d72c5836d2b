"""Finished calls per queue from stored call records, for today's and any interval's figures.

Layer: service (sync, run off the event loop). Must not import agent_console.
"""

from __future__ import annotations

from datetime import datetime

from callqueue.metrics import FinishedCall
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tickets.models import CallRecord


def finished_calls(sessions: sessionmaker[Session], start: datetime, end: datetime,
                   queue: str | None = None, site: str | None = None) -> list[tuple[str, datetime, FinishedCall]]:
    """(queue, ended_at, call) for calls that ended in [start, end), oldest first; only
    `site`'s calls when given (a site's own wallboard figures)."""
    return [(q, ended, call) for _, q, ended, call in _finished(sessions, start, end, queue, site)]


def finished_by_site(sessions: sessionmaker[Session], start: datetime, end: datetime,
                     queue: str | None = None) -> dict[str, list[FinishedCall]]:
    """Site -> its calls that ended in [start, end), oldest first (the sites' board)."""
    out: dict[str, list[FinishedCall]] = {}
    for site, _, _, call in _finished(sessions, start, end, queue, None):
        out.setdefault(site, []).append(call)
    return out


def _finished(sessions: sessionmaker[Session], start: datetime, end: datetime, queue: str | None,
              site: str | None) -> list[tuple[str, str, datetime, FinishedCall]]:
    q = select(CallRecord).where(CallRecord.ended_at >= start, CallRecord.ended_at < end,
                                 CallRecord.outcome.is_not(None))
    if queue is not None:
        q = q.where(CallRecord.queue == queue)
    if site is not None:
        q = q.where(CallRecord.site == site)
    with sessions() as s:
        return [(r.site, r.queue, r.ended_at, FinishedCall(r.outcome or "", r.wait_seconds or 0.0,
                                                           r.talk_seconds or 0.0, r.answered_at is not None))
                for r in s.scalars(q.order_by(CallRecord.ended_at, CallRecord.id)) if r.ended_at is not None]
