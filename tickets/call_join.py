"""Joining the two legs of a call one site overflowed to another (issue 15).

Layer: service. A caller into site A whom A sends over the trunk to site B is two
Asterisk calls: A's entry leg (A, LA) and B's answering leg (B, LB), which knows
(A, LA) as its origin (cti.origin). They are ONE call for the desk:
- the answering leg's record is THE call: its ticket, its agent, `entry_site` /
  `entry_linkedid` naming the entry leg, and `wait_seconds` = the time at A
  (`entry_wait_seconds`) + the time at B until answered;
- the entry leg's record has outcome `overflowed` (never an abandon, never a
  callback, no ticket) and `overflow_site` / `overflow_linkedid` naming the
  answering leg. Reports leave it out and count the answering leg at its entry site.

Both bridges write into the one database, each its own leg, in either order and
possibly at the same moment, and may repeat a write (replayed events). Each write
first locks the ENTRY leg's row (the answering bridge inserts it as a placeholder
when A has not written it yet), so the two writers of one call are serialised on
one row and whichever comes second sees the other's committed leg; what either
writes is computed by the pure functions below from both legs as stored, so
repeating a write changes nothing. Must not import agent_console.

An entry bridge that missed the overflow may have written its leg as an abandon
first, and folded it into a callback item: when the join later marks the leg
`overflowed`, that leg's part of the item is taken back (`drop_callback`): the call
went on at the answering site, whose leg alone decides about a callback (as when the
overflow was known in time); not when an agent has called back already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cti import events as ev
from tickets.models import Callback, CallbackStatus, CallRecord

OVERFLOWED = ev.Outcome.OVERFLOWED.value
_GAVE_UP = (ev.Outcome.ABANDONED.value, ev.Outcome.TIMEOUT.value, ev.Outcome.AFTER_HOURS.value)


# --- pure ----------------------------------------------------------------------------


def total_wait(own: float | None, entry: float | None) -> float | None:
    """The answering leg's wait: its own time until answered plus the time at the entry site."""
    if own is None:
        return entry
    return own + (entry or 0.0)


def own_wait(total: float | None, entry: float | None) -> float | None:
    """The answering leg's own part of a stored total (what `total_wait` added taken off)."""
    if total is None:
        return None
    return max(0.0, total - (entry or 0.0))


@dataclass(frozen=True, slots=True)
class AnsweringLeg:
    """The answering leg's record as stored (None when there is none yet)."""

    linkedid: str
    wait_seconds: float | None
    entry_wait_seconds: float | None


def answering_values(own: float | None, entry_wait: float | None) -> dict[str, Any]:
    """What the answering leg's record holds, from its own wait and the entry leg's."""
    return {"wait_seconds": total_wait(own, entry_wait), "entry_wait_seconds": entry_wait}


def rejoined(leg: AnsweringLeg, entry_wait: float | None) -> dict[str, Any]:
    """The answering leg's record after the entry leg (re)wrote its wait: idempotent."""
    return answering_values(own_wait(leg.wait_seconds, leg.entry_wait_seconds), entry_wait)


# --- the database shell ------------------------------------------------------------


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert(CallRecord) if dialect == "postgresql" else sqlite.insert(CallRecord)


def _entry_row(site: str, linkedid: str) -> tuple[Any, Any]:
    return CallRecord.site == site, CallRecord.linkedid == linkedid


@dataclass(frozen=True, slots=True)
class Entry:
    """The entry leg as the answering bridge found it (locked)."""

    joinable: bool  # not answered at its own site, not joined to another answering leg
    wait_seconds: float | None  # its time there, None while the entry bridge has not written it


def lock_entry(session: Session, origin: ev.Origin, site: str, call: ev.CallSnapshot) -> Entry:
    """The answering bridge (`site`), first in its transaction: the entry leg's row,
    inserted as a placeholder (outcome `overflowed`, the caller as known here) when the
    entry site has not written it yet, and locked. A row answered at its own site or joined
    to another leg is not this call's entry (a forged or stale header): not joinable."""
    entry_site, linkedid = origin
    stmt = _insert(session).values(
        site=entry_site, linkedid=linkedid, outcome=OVERFLOWED, overflow_site=site,
        caller_number=call.caller_number, caller_raw=(call.caller_raw or "")[:64],
        caller_name=(call.caller_name or "")[:200], queue=call.queue)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["site", "linkedid"]))
    wait, answered, joined_site, joined = session.execute(
        select(CallRecord.wait_seconds, CallRecord.answered_at, CallRecord.overflow_site,
               CallRecord.overflow_linkedid).where(*_entry_row(entry_site, linkedid)).with_for_update()).one()
    mine = joined is None or (joined_site, joined) == (site, call.linkedid)
    return Entry(answered is None and mine, wait)


def mark_entry(session: Session, origin: ev.Origin, site: str, answering_linkedid: str) -> None:
    """The answering bridge, after writing its leg: the entry leg names it and is `overflowed`."""
    session.execute(update(CallRecord).where(*_entry_row(*origin)).values(
        overflow_site=site, overflow_linkedid=answering_linkedid, outcome=OVERFLOWED))
    drop_callback(session, origin)


def drop_callback(session: Session, origin: ev.Origin) -> None:
    """The entry leg (its row locked by the caller, first) is `overflowed` now: a callback
    item its bridge made from it as an abandon, still open, loses this leg. The item of
    this leg alone is deleted (the call was not given up: nobody is to call back, and the
    reports count no callback, as when the overflow was known in time); one with other
    calls folded in stays open for those, one attempt less, its times theirs. An item an
    agent closed (called back) and a "press 1" item are left as they are."""
    callback_id = session.scalar(select(CallRecord.callback_id).where(*_entry_row(*origin)))
    if callback_id is None:
        return
    item = session.scalars(select(Callback).where(Callback.id == callback_id).with_for_update()).one()
    if item.status != CallbackStatus.OPEN or item.reason not in _GAVE_UP:
        return
    session.execute(update(CallRecord).where(*_entry_row(*origin)).values(callback_id=None))
    called = func.coalesce(CallRecord.entered_at, CallRecord.ended_at)
    others, first, last = session.execute(select(func.count(), func.min(called), func.max(called))
                                          .where(CallRecord.callback_id == item.id)).one()
    if item.attempts <= 1 and not others:
        session.delete(item)
        return
    item.attempts = max(1, item.attempts - 1)
    item.first_call_at, item.last_call_at = first or item.first_call_at, last or item.last_call_at


def join_answering(session: Session, entry_site: str, entry_linkedid: str,
                   entry_wait: float | None) -> tuple[str, str] | None:
    """The entry bridge, after writing (and so locking) its leg: the answering leg, when
    it is stored already, takes this wait into its total (and stays locked); the entry leg
    names it. The answering leg's (site, linkedid), None when it is not stored yet."""
    row = session.execute(
        select(CallRecord.linkedid, CallRecord.site, CallRecord.wait_seconds, CallRecord.entry_wait_seconds)
        .where(CallRecord.entry_site == entry_site, CallRecord.entry_linkedid == entry_linkedid)
        .order_by(CallRecord.id).limit(1).with_for_update()).first()
    if row is None:
        return None  # not written yet: the answering bridge reads this leg's wait when it does
    linkedid, site, wait, stored_entry_wait = row
    values = rejoined(AnsweringLeg(linkedid, wait, stored_entry_wait), entry_wait)
    if (values["wait_seconds"], values["entry_wait_seconds"]) != (wait, stored_entry_wait):
        session.execute(update(CallRecord).where(CallRecord.site == site, CallRecord.linkedid == linkedid)
                        .values(**values))
    session.execute(update(CallRecord).where(*_entry_row(entry_site, entry_linkedid))
                    .where(CallRecord.overflow_linkedid.is_(None))
                    .values(overflow_site=site, overflow_linkedid=linkedid))
    return site, linkedid
