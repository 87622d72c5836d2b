"""Test data in one place: call snapshots, answered calls, contacts, and a bus recorder.

Layer: test support. Each factory fills every field a test does not care about, so a
test names only what it checks (a new CallSnapshot field is added here, once).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cti import events as ev
from cti.bus import EventBus
from tickets.models import Contact, Phone, PhoneKind
from tickets.report_agg_models import ReportAggMark

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Berlin
HOSTILE_NAME = "<script>alert(1)</script>"  # CallerIDName is the caller's to choose
E = TypeVar("E")
_ids = itertools.count(1)


def new_linkedid(prefix: str = "1795000000") -> str:
    """A Linkedid no other factory call in this test run has returned."""
    return f"{prefix}.{next(_ids)}"


def call_snapshot(linkedid: str = "1700000000.1", **kw: Any) -> ev.CallSnapshot:
    """A caller named HOSTILE_NAME waiting first in queue "hotline" since T0; `kw` sets
    any field. Without a `caller_raw`, it is the `caller_number` given, or "anonymous"."""
    raw = kw.pop("caller_raw") if "caller_raw" in kw else kw.get("caller_number") or "anonymous"
    base = ev.CallSnapshot(
        linkedid=linkedid, caller_raw=raw, caller_number=None, caller_name=HOSTILE_NAME, queue="hotline",
        entered_at=T0, position=1, ringing_agents=(), answered_at=None, agent=None, ended_at=None,
        outcome=None, wait_seconds=None, ring_seconds=None, talk_seconds=None, duration_seconds=None,
        transferred_to=None)
    return replace(base, **kw)


def answered_call(number: str | None, *, linkedid: str = "", wait: float = 7.0, ring: float = 3.0,
                  talk: float = 120.0, agent: str = "PJSIP/1001", **kw: Any) -> list[ev.CallUpdated]:
    """ANSWERED then ENDED of one call (a new Linkedid unless given) picked up after `wait` s
    and talked `talk` s, each stamped when it happened; `kw` sets other fields (entered_at...)."""
    ans = call_snapshot(linkedid or new_linkedid(), caller_number=number, agent=agent, wait_seconds=wait,
                        ring_seconds=ring, outcome=ev.Outcome.ANSWERED, **kw)
    assert ans.entered_at is not None
    answered_at = ans.entered_at + timedelta(seconds=wait)
    ans = replace(ans, answered_at=answered_at)
    ended_at = answered_at + timedelta(seconds=talk)
    end = replace(ans, ended_at=ended_at, talk_seconds=talk, duration_seconds=wait + talk)
    return [ev.CallUpdated(answered_at, ev.CallChange.ANSWERED, ans),
            ev.CallUpdated(ended_at, ev.CallChange.ENDED, end)]


def gave_up(number: str | None, at: datetime, outcome: ev.Outcome = ev.Outcome.ABANDONED,
            wait: float = 40.0) -> ev.CallUpdated:
    """The ENDED of a call (a new Linkedid) that entered at `at` and left unanswered after `wait` s."""
    end = call_snapshot(new_linkedid("1796000000"), caller_number=number, entered_at=at,
                        ended_at=at + timedelta(seconds=wait), wait_seconds=wait, duration_seconds=wait,
                        outcome=outcome)
    return ev.CallUpdated(at + timedelta(seconds=wait), ev.CallChange.ENDED, end)


def add_contact(sessions: sessionmaker[Session], name: str, number: str) -> int:
    """A contact with one direct number (already E.164); its id."""
    with sessions.begin() as s:
        c = Contact(name=name)
        s.add(c)
        s.flush()
        s.add(Phone(raw=number, normalized=number, kind=PhoneKind.DIRECT, contact_id=c.id))
        return c.id


def capture_events(bus: EventBus, *types: type[E]) -> list[E]:
    """Every event of `types` (of any type when none is given) that `bus` publishes from
    now on, in order: a list that fills as they come (Home Assistant's async_capture_events)."""
    seen: list[E] = []
    for event_type in types or (object,):
        bus.subscribe(event_type, seen.append)
    return seen


def marks_left(sessions: sessionmaker[Session]) -> int:
    """Hours marked for the report aggregates' catch-up and not yet caught up."""
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ReportAggMark)) or 0)
