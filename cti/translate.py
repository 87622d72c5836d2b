"""AMI messages -> typed, past-tense domain events. Raw AMI names stop here.

Layer: domain translation, pure (no I/O, no clock: `at` is passed in). Must not
import from the rest of the project.

Field facts (Asterisk 22.10, recorded in tests/integration):
- Queue events carry the caller's channel as Uniqueid; Linkedid is shared by
  every leg, so one call is one Linkedid across stints and transfers.
- RingTime is seconds in AgentConnect but milliseconds in AgentRingNoAnswer.
- A queue timeout also emits QueueCallerAbandon; the dialplan's UserEvent
  HotlineQueueExit (QueueStatus: TIMEOUT...) is what tells them apart.
- When the caller hangs up, AgentComplete may come without the caller's channel
  fields (its snapshot is already gone: only "Uniqueid" is left). The agent's leg
  (Dest*) shares the call's Linkedid, so `_call_of` falls back to DestLinkedid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from cti import events as ev
from cti.actions import ActionResult
from cti.origin import SITE, origin_from_chanvars

log = logging.getLogger(__name__)

# AST_DEVICE_* numbers in QueueMemberStatus / QueueMember "Status"
_DEVICE_AVAILABLE = {"1"}  # NOT_INUSE
_DEVICE_UNREGISTERED = {"4", "5"}  # INVALID, UNAVAILABLE


class Message(Protocol):
    @property
    def name(self) -> str: ...

    def get(self, key: str, default: str = "") -> str: ...

    def get_all(self, key: str) -> list[str]: ...


def _int(msg: Message, key: str) -> int:
    try:
        return int(msg.get(key, "0") or 0)
    except ValueError:
        return 0


def _text(msg: Message, key: str) -> str:
    return msg.get(key).replace("\0", "")


def _call_of(m: Message) -> str:
    """The call (Linkedid) of an agent-side queue event: the caller's, else the agent leg's."""
    return m.get("Linkedid") or m.get("DestLinkedid")


def _joined(m: Message, at: datetime) -> list[ev.DomainEvent]:
    return [ev.CallerJoinedQueue(
        at=at, linkedid=m.get("Linkedid"), uniqueid=m.get("Uniqueid"), channel=m.get("Channel"),
        queue=m.get("Queue"), caller_raw=_text(m, "CallerIDNum"),
        caller_name=_text(m, "CallerIDName"), position=_int(m, "Position"),
        origin=origin_from_chanvars(m.get_all("ChanVariable")))]


def _called(m: Message, at: datetime) -> list[ev.DomainEvent]:
    return [ev.AgentRinging(at=at, linkedid=_call_of(m), queue=m.get("Queue"),
                            agent=m.get("Interface"), member_name=_text(m, "MemberName"),
                            agent_uniqueid=m.get("DestUniqueid"))]


def _noanswer(m: Message, at: datetime) -> list[ev.DomainEvent]:
    return [ev.RingNotAnswered(at=at, linkedid=_call_of(m), queue=m.get("Queue"),
                               agent=m.get("Interface"), ring_seconds=_int(m, "RingTime") / 1000)]


def _connect(m: Message, at: datetime) -> list[ev.DomainEvent]:
    return [ev.CallAnswered(at=at, linkedid=_call_of(m), queue=m.get("Queue"),
                            agent=m.get("Interface"), member_name=_text(m, "MemberName"),
                            wait_seconds=_int(m, "HoldTime"), ring_seconds=_int(m, "RingTime"),
                            agent_channel=m.get("DestChannel"))]


def _complete(m: Message, at: datetime) -> list[ev.DomainEvent]:
    reason = m.get("Reason").lower()
    by = ev.CompletedBy(reason) if reason in ev.CompletedBy.__members__.values() else (
        ev.CompletedBy.CALLER)
    return [ev.CallCompleted(at=at, linkedid=_call_of(m), queue=m.get("Queue"),
                             agent=m.get("Interface"), wait_seconds=_int(m, "HoldTime"),
                             talk_seconds=_int(m, "TalkTime"), completed_by=by)]


def _abandon(m: Message, at: datetime) -> list[ev.DomainEvent]:
    return [ev.CallAbandoned(at=at, linkedid=m.get("Linkedid"), queue=m.get("Queue"),
                             position=_int(m, "Position"),
                             original_position=_int(m, "OriginalPosition"),
                             wait_seconds=_int(m, "HoldTime"))]


def _leave(m: Message, at: datetime) -> list[ev.DomainEvent]:
    return [ev.CallerLeftQueue(at=at, linkedid=m.get("Linkedid"), queue=m.get("Queue"),
                               position=_int(m, "Position"))]


def _user_event(m: Message, at: datetime) -> list[ev.DomainEvent]:
    kind = m.get("UserEvent")
    if kind == "HotlineQueueExit":
        status = m.get("QueueStatus").lower()
        reason = ev.LeaveReason(status) if status in ev.LeaveReason.__members__.values() else (
            ev.LeaveReason.UNKNOWN)
        return [ev.CallTimedOut(at=at, linkedid=m.get("Linkedid"), queue=m.get("Queue"),
                                reason=reason)]
    if kind == "HotlineCallbackResult":
        callback_id = _int(m, "CallbackId")
        return [ev.CallbackDialed(at=at, callback_id=callback_id, dial_status=m.get("DialStatus")[:20])] if (
            callback_id > 0) else []
    if kind == "HotlineOverflow":  # another site took the call (extensions.conf [hotline-overflow])
        site = m.get("Site")
        return [ev.CallOverflowed(at=at, linkedid=m.get("Linkedid"), site=site, queue=m.get("Queue"),
                                  caller_raw=_text(m, "CallerIDNum"), caller_name=_text(m, "CallerIDName"))
                ] if SITE.fullmatch(site) else []
    if kind == "HotlineAfterHours":
        return [ev.AfterHoursCall(at=at, linkedid=m.get("Linkedid"), uniqueid=m.get("Uniqueid"),
                                  queue=m.get("Queue"), caller_raw=_text(m, "CallerIDNum"),
                                  caller_name=_text(m, "CallerIDName"))]
    return []


def _transfer(m: Message, at: datetime) -> list[ev.DomainEvent]:
    blind = m.name == "BlindTransfer"
    target = m.get("Extension") if blind else m.get("TransferTargetChannel")
    linkedid = m.get("TransfereeLinkedid") or m.get("TransfererLinkedid")
    channel = m.get("TransfererChannel")
    agent = channel.rsplit("-", 1)[0] if channel.startswith("PJSIP/") else ""
    return [ev.CallTransferred(at=at, linkedid=linkedid, target=target, by_agent=agent,
                               blind=blind)]


def _hangup(m: Message, at: datetime) -> list[ev.DomainEvent]:
    linkedid, uniqueid = m.get("Linkedid"), m.get("Uniqueid")
    out: list[ev.DomainEvent] = [ev.ChannelHungUp(
        at=at, linkedid=linkedid, uniqueid=uniqueid, channel=m.get("Channel"),
        cause=_int(m, "Cause"), cause_text=m.get("Cause-txt"))]
    if uniqueid and uniqueid == linkedid:
        out.append(ev.CallEnded(at=at, linkedid=linkedid, cause=_int(m, "Cause")))
    return out


def _member_added(m: Message, at: datetime) -> list[ev.DomainEvent]:
    return [ev.AgentLoggedIn(at=at, agent=m.get("Interface"), member_name=_text(m, "MemberName"),
                             queue=m.get("Queue"), paused=m.get("Paused") == "1",
                             pause_reason=_text(m, "PausedReason"), penalty=_penalty(m))]


def _penalty(m: Message) -> int | None:
    """A member's Penalty (0..9999 as QueueAdd takes it); missing or garbage: None."""
    raw = m.get("Penalty")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else None


def _member_penalty(m: Message, at: datetime) -> list[ev.DomainEvent]:
    penalty = _penalty(m)
    return [] if penalty is None else [ev.AgentPenaltyChanged(at=at, agent=m.get("Interface"), queue=m.get("Queue"),
                                                              penalty=penalty)]


def _member_removed(m: Message, at: datetime) -> list[ev.DomainEvent]:
    return [ev.AgentLoggedOut(at=at, agent=m.get("Interface"), queue=m.get("Queue"))]


def _member_pause(m: Message, at: datetime) -> list[ev.DomainEvent]:
    if m.get("Paused") == "1":
        return [ev.AgentPaused(at=at, agent=m.get("Interface"), queue=m.get("Queue"),
                               reason=_text(m, "PausedReason") or _text(m, "Reason"))]
    return [ev.AgentUnpaused(at=at, agent=m.get("Interface"), queue=m.get("Queue"))]


def _member_status(m: Message, at: datetime) -> list[ev.DomainEvent]:
    status = m.get("Status")
    return [ev.AgentDeviceChanged(
        at=at, agent=m.get("Interface"), member_name=_text(m, "MemberName"), queue=m.get("Queue"),
        in_call=m.get("InCall") == "1", available=status in _DEVICE_AVAILABLE,
        registered=status not in _DEVICE_UNREGISTERED, paused=m.get("Paused") == "1",
        pause_reason=_text(m, "PausedReason"), wrapup=False, penalty=_penalty(m))]


def _queue_entry(m: Message, at: datetime) -> list[ev.DomainEvent]:
    return [ev.WaitingCallerSnapshot(
        at=at, linkedid=m.get("Linkedid") or m.get("Uniqueid"), uniqueid=m.get("Uniqueid"),
        queue=m.get("Queue"), position=_int(m, "Position"), caller_raw=_text(m, "CallerIDNum"),
        caller_name=_text(m, "CallerIDName"), wait_seconds=_int(m, "Wait"))]


def _epoch(m: Message, key: str) -> datetime | None:
    """Unix seconds (QueueMember LastCall); 0 or garbage: None."""
    seconds = _int(m, key)
    try:
        return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
    except (OverflowError, OSError, ValueError):
        return None


def _queue_member(m: Message, at: datetime) -> list[ev.DomainEvent]:
    status = m.get("Status")
    return [ev.MemberSnapshot(
        at=at, agent=m.get("Location") or m.get("Interface"), member_name=_text(m, "Name"),
        queue=m.get("Queue"), in_call=m.get("InCall") == "1",
        available=status in _DEVICE_AVAILABLE, registered=status not in _DEVICE_UNREGISTERED,
        paused=m.get("Paused") == "1", pause_reason=_text(m, "PausedReason"),
        last_call=_epoch(m, "LastCall"), penalty=_penalty(m))]


def _channel(m: Message, at: datetime) -> list[ev.DomainEvent]:
    duration = m.get("Duration")  # HH:MM:SS
    try:
        h, mi, s = (int(x) for x in duration.split(":"))
        seconds = h * 3600 + mi * 60 + s
    except ValueError:
        seconds = 0
    return [ev.ActiveChannelSnapshot(
        at=at, linkedid=m.get("Linkedid"), uniqueid=m.get("Uniqueid"), channel=m.get("Channel"),
        caller_raw=_text(m, "CallerIDNum"), caller_name=_text(m, "CallerIDName"),
        application=m.get("Application"), duration_seconds=seconds,
        bridged=bool(m.get("BridgeId")), origin=origin_from_chanvars(m.get_all("ChanVariable")))]


_TABLE: dict[str, Callable[[Message, datetime], list[ev.DomainEvent]]] = {
    "QueueCallerJoin": _joined, "AgentCalled": _called, "AgentRingNoAnswer": _noanswer,
    "AgentConnect": _connect, "AgentComplete": _complete, "QueueCallerAbandon": _abandon,
    "QueueCallerLeave": _leave, "UserEvent": _user_event, "BlindTransfer": _transfer,
    "AttendedTransfer": _transfer, "Hangup": _hangup, "QueueMemberAdded": _member_added,
    "QueueMemberRemoved": _member_removed, "QueueMemberPause": _member_pause,
    "QueueMemberStatus": _member_status, "QueueMemberPenalty": _member_penalty, "QueueEntry": _queue_entry,
    "QueueMember": _queue_member, "CoreShowChannel": _channel,
}

# the events the bridge reads (FullyBooted: the AMI client's own): cti.connection parses no other
EVENTS = frozenset(_TABLE) | {"FullyBooted"}


def action_result(reply: Message) -> ActionResult:
    """An accepted action's reply (a refused one is an AmiError already)."""
    return ActionResult(message=reply.get("Message"))


def translate(msg: Message, at: datetime) -> list[ev.DomainEvent]:
    """Domain events for one AMI event; [] for events the bridge does not use."""
    handler = _TABLE.get(msg.get("Event"))
    if handler is None:
        return []
    try:
        return handler(msg, at)
    except ValueError:
        log.warning("could not translate %s; skipped", msg.get("Event"), exc_info=True)
        return []
