"""Typed, past-tense domain events: the contract between cti and everything else.

Layer: domain. Raw AMI field names stop in cti.translate; nothing here knows AMI.
Must not import from the rest of the project, nor do I/O.

Every event carries `at` (when Asterisk said it happened, as a timezone-aware
UTC datetime taken from the bridge's clock at arrival) and, for call events,
`linkedid`: one call is one Linkedid across queue stints, transfers and requeues.
Agents are named by their queue interface (e.g. "PJSIP/1001").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cti.callback_events import CallbackDialed as CallbackDialed
from cti.callback_events import CallbackRequested as CallbackRequested
from cti.callback_events import CallbackRinging as CallbackRinging
from cti.origin import CallOverflowed as CallOverflowed
from cti.origin import Origin as Origin
from cti.routing_events import AgentPenaltyChanged as AgentPenaltyChanged
from cti.routing_events import CallRoute as CallRoute
from cti.routing_events import CallRouted as CallRouted

# the enums live in cti.states; consumers find them here beside the events (explicit re-exports)
from cti.states import AgentState as AgentState
from cti.states import CallChange as CallChange
from cti.states import CompletedBy as CompletedBy
from cti.states import LeaveReason as LeaveReason
from cti.states import Outcome as Outcome

# --- call events -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerJoinedQueue:
    at: datetime
    linkedid: str
    uniqueid: str  # the caller's channel
    channel: str
    queue: str
    caller_raw: str  # CallerIDNum exactly as Asterisk had it (may be "", "anonymous"...)
    caller_name: str  # CallerIDName, caller-supplied: escape before display
    position: int
    origin: Origin | None = None  # (site, linkedid) another site overflowed it from (cti.origin)


@dataclass(frozen=True, slots=True)
class AgentRinging:
    at: datetime
    linkedid: str
    queue: str
    agent: str  # interface, e.g. PJSIP/1001
    member_name: str
    agent_uniqueid: str  # DestUniqueid: the agent leg


@dataclass(frozen=True, slots=True)
class RingNotAnswered:
    at: datetime
    linkedid: str
    queue: str
    agent: str
    ring_seconds: float  # AgentRingNoAnswer RingTime is milliseconds (Asterisk 22)


@dataclass(frozen=True, slots=True)
class CallAnswered:
    at: datetime
    linkedid: str
    queue: str
    agent: str
    member_name: str
    wait_seconds: int  # AgentConnect HoldTime
    ring_seconds: int  # AgentConnect RingTime (seconds here)
    agent_channel: str = ""  # DestChannel: the agent's leg, e.g. PJSIP/1001-00000001


@dataclass(frozen=True, slots=True)
class CallCompleted:
    """The agent part of a queued call ended (AgentComplete)."""

    at: datetime
    linkedid: str
    queue: str
    agent: str
    wait_seconds: int
    talk_seconds: int
    completed_by: CompletedBy


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    at: datetime
    linkedid: str
    queue: str
    position: int
    original_position: int
    wait_seconds: int


@dataclass(frozen=True, slots=True)
class CallerLeftQueue:
    """QueueCallerLeave: answered, abandoned and timed-out callers all leave."""

    at: datetime
    linkedid: str
    queue: str
    position: int


@dataclass(frozen=True, slots=True)
class CallTimedOut:
    """The dialplan reported QUEUESTATUS after Queue() returned unanswered."""

    at: datetime
    linkedid: str
    queue: str
    reason: LeaveReason


@dataclass(frozen=True, slots=True)
class CallTransferred:
    at: datetime
    linkedid: str
    target: str  # extension or channel the call went to
    by_agent: str  # interface of the transferring agent, "" when unknown
    blind: bool


@dataclass(frozen=True, slots=True)
class AfterHoursCall:
    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    caller_raw: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class ChannelHungUp:
    at: datetime
    linkedid: str
    uniqueid: str
    channel: str
    cause: int
    cause_text: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The caller's channel (Uniqueid == Linkedid) hung up: the call is over."""

    at: datetime
    linkedid: str
    cause: int


# --- agent events ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentLoggedIn:
    at: datetime
    agent: str
    member_name: str
    queue: str
    paused: bool
    pause_reason: str
    penalty: int | None = None  # the member's queue penalty (its routing band, tickets.routing)


@dataclass(frozen=True, slots=True)
class AgentLoggedOut:
    at: datetime
    agent: str
    queue: str


@dataclass(frozen=True, slots=True)
class AgentPaused:
    at: datetime
    agent: str
    queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class AgentUnpaused:
    at: datetime
    agent: str
    queue: str


@dataclass(frozen=True, slots=True)
class AgentDeviceChanged:
    """QueueMemberStatus: the member's device state or in-call flag changed."""

    at: datetime
    agent: str
    member_name: str
    queue: str
    in_call: bool
    available: bool  # device not busy/unavailable/ringing
    registered: bool
    paused: bool
    pause_reason: str
    wrapup: bool  # Asterisk 22 QueueMemberStatus Wrapuptime handling, see translate
    penalty: int | None = None


@dataclass(frozen=True, slots=True)
class QueueWrapUpTime:
    """The queue's `wrapuptime`, as the dialplan publishes it for hotline (global
    HOTLINE_WRAPUP_SECONDS, read at every resync); None when unset (see cti.bridge)."""

    at: datetime
    queue: str
    seconds: int | None


@dataclass(frozen=True, slots=True)
class WrapUpDue:
    """The bridge's timer: Asterisk's wrap-up of `agent` has run out by `at`
    (Asterisk sends no event when a member's wrapuptime ends)."""

    at: datetime
    agent: str


# --- connection / resync events --------------------------------------------


@dataclass(frozen=True, slots=True)
class PbxConnected:
    """Logged in to AMI. `restarted` is True when Asterisk's uptime went backwards."""

    at: datetime
    restarted: bool


@dataclass(frozen=True, slots=True)
class PbxDisconnected:
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class WaitingCallerSnapshot:
    """From QueueStatus' QueueEntry during resync."""

    at: datetime
    linkedid: str
    uniqueid: str
    queue: str
    position: int
    caller_raw: str
    caller_name: str
    wait_seconds: int


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    """From QueueStatus' QueueMember during resync."""

    at: datetime
    agent: str
    member_name: str
    queue: str
    in_call: bool
    available: bool
    registered: bool
    paused: bool
    pause_reason: str
    last_call: datetime | None = None  # when the member's last queue call ended (LastCall)
    penalty: int | None = None


@dataclass(frozen=True, slots=True)
class ActiveChannelSnapshot:
    """From CoreShowChannels during resync: a channel Asterisk still has."""

    at: datetime
    linkedid: str
    uniqueid: str
    channel: str
    caller_raw: str
    caller_name: str
    application: str
    duration_seconds: int
    bridged: bool
    origin: Origin | None = None  # as CallerJoinedQueue.origin


@dataclass(frozen=True, slots=True)
class ResyncCompleted:
    """All snapshot events of one resync have been published; anything the
    registry tracks that was not in the snapshots is gone from Asterisk."""

    at: datetime
    active_linkedids: frozenset[str]


CallEvent = (
    CallerJoinedQueue
    | AgentRinging
    | RingNotAnswered
    | CallAnswered
    | CallCompleted
    | CallAbandoned
    | CallerLeftQueue
    | CallTimedOut
    | CallTransferred
    | AfterHoursCall
    | ChannelHungUp
    | CallEnded
    | CallRouted
    | CallbackRequested | CallbackDialed | CallOverflowed
)
AgentEvent = (AgentLoggedIn | AgentLoggedOut | AgentPaused | AgentUnpaused | AgentDeviceChanged
              | AgentPenaltyChanged | QueueWrapUpTime | WrapUpDue)
SnapshotEvent = WaitingCallerSnapshot | MemberSnapshot | ActiveChannelSnapshot | ResyncCompleted
ConnectionEvent = PbxConnected | PbxDisconnected
DomainEvent = CallEvent | AgentEvent | SnapshotEvent | ConnectionEvent


# --- registry output: what consumers (tickets, callqueue, hub) subscribe to ---


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """Everything known about one call (one Linkedid) at one moment."""

    linkedid: str
    caller_raw: str
    caller_number: str | None  # E.164, None when withheld or not a number
    caller_name: str
    queue: str
    entered_at: datetime | None
    position: int
    ringing_agents: tuple[str, ...]
    answered_at: datetime | None
    agent: str | None  # interface of the agent who answered
    ended_at: datetime | None
    outcome: Outcome | None
    wait_seconds: float | None
    ring_seconds: float | None
    talk_seconds: float | None
    duration_seconds: float | None
    transferred_to: str | None
    agent_channel: str | None = None  # the answering agent's own leg while it is up (what a transfer moves)
    route: CallRoute | None = None  # None: no FastAGI answer (hotline was down, or an old dialplan)
    origin: Origin | None = None  # (site, linkedid) when another site overflowed the call here
    overflow_site: str | None = None  # the site that took this call (its entry leg here), cti.origin


@dataclass(frozen=True, slots=True)
class CallUpdated:
    at: datetime
    change: CallChange
    call: CallSnapshot
    # for RINGING: agents whose phone stopped ringing (answered elsewhere / no answer)
    withdrawn_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    agent: str  # interface, e.g. PJSIP/1001
    member_name: str
    state: AgentState
    pause_reason: str
    since: datetime
    queues: tuple[str, ...]
    linkedid: str | None  # the call ringing or in progress, if any
    # when Asterisk's wrap-up (the queue's wrapuptime after a call) ends; None when
    # not in wrap-up or its length is unknown
    wrapup_until: datetime | None = None
    penalty: int | None = None  # its queue penalty, as Asterisk last said (None: not told)


@dataclass(frozen=True, slots=True)
class AgentUpdated:
    at: datetime
    agent: AgentSnapshot
