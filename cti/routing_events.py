"""Routing's events: the route the FastAGI `route` script chose for a call, and a queue
member's penalty (its routing band, tickets.routing), which the script reads back to
know which languages the generalists logged in cover.

Layer: domain (re-exported by cti.events, where consumers find them). No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CallRoute:
    """The route the FastAGI `route` script chose (before Queue()): why (reason), to
    which focus team ("" = every agent), in which language, at which queue priority and why."""

    reason: str
    team: str = ""
    language: str = ""
    priority: int = 0
    priority_reason: str = ""  # why moved up: vip | critical_ticket ("" = not moved up)


@dataclass(frozen=True, slots=True)
class CallRouted:
    """From the FastAGI server, not from AMI: the caller's channel was routed."""

    at: datetime
    linkedid: str
    route: CallRoute


@dataclass(frozen=True, slots=True)
class AgentPenaltyChanged:
    """QueueMemberPenalty: the member's penalty in `queue` was set (a queue login's band,
    or an admin's `queue set penalty`)."""

    at: datetime
    agent: str
    queue: str
    penalty: int
