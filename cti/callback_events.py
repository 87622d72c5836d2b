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
