"""The callback's two events (re-exported by cti.events, where consumers find them).

Layer: domain (no imports from the project, no I/O).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """FastAGI: the waiting caller pressed 1 (a virtual place); ends as CALLBACK."""

    at: datetime
    linkedid: str
    callback_id: int


@dataclass(frozen=True, slots=True)
class CallbackDialed:
    """UserEvent HotlineCallbackResult: Dial()'s DIALSTATUS (ANSWER: caller picked up)."""

    at: datetime
    callback_id: int
    dial_status: str


@dataclass(frozen=True, slots=True)
class CallbackRinging:
    """hotline rang the agent's phone for a callback (its Originate was accepted): the
    agent's console pops "Callback to <caller>". Not from AMI: the dispatcher says it,
    since the originated call never passes a queue (the registry sees no call for it)."""

    at: datetime
    callback_id: int
    agent: str  # the interface rung first, e.g. PJSIP/1001
    caller_raw: str  # as the caller called in; caller-supplied, like caller_name: escape
    caller_number: str  # E.164, the number dialled
    caller_name: str
    waited_seconds: float | None  # how long the caller waited before asking for the callback
    ticket_id: int | None  # the ticket made when the caller pressed 1
