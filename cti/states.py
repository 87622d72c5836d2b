"""The enums the events carry: agent states, call outcomes and changes.

Layer: domain (no imports from the project, no I/O). Re-exported by cti.events,
where consumers find them next to the events that carry them.
"""

from __future__ import annotations

import enum


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"  # endpoint not registered


class Outcome(enum.StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMEOUT = "timeout"
    TRANSFERRED = "transferred"
    AFTER_HOURS = "after_hours"
    CALLBACK = "callback"  # left the queue with a callback request: not an abandon
    OVERFLOWED = "overflowed"  # another site answered it: this is the entry leg, counted there


class CompletedBy(enum.StrEnum):
    CALLER = "caller"
    AGENT = "agent"
    TRANSFER = "transfer"


class LeaveReason(enum.StrEnum):
    """Why a caller left a queue without being answered (from dialplan QUEUESTATUS)."""

    TIMEOUT = "timeout"
    FULL = "full"
    JOINEMPTY = "joinempty"
    LEAVEEMPTY = "leaveempty"
    UNKNOWN = "unknown"


class CallChange(enum.StrEnum):
    JOINED = "joined"  # entered a queue (or re-entered after a transfer)
    RINGING = "ringing"  # the set of ringing agents changed
    ANSWERED = "answered"
    TRANSFERRED = "transferred"
    LEFT_QUEUE = "left_queue"  # abandoned or timed out; `outcome` says which
    AFTER_HOURS = "after_hours"
    ENDED = "ended"  # final: every figure is settled
    RESYNCED = "resynced"  # state rebuilt from a snapshot after (re)connect
    OVERFLOWED = "overflowed"  # another site took the call (the entry leg; it stays up to the end)
