"""JSON shapes for the WebSocket and HTTP edge: calls, pops, agents, queues.

Layer: edge (pure functions over domain objects; no I/O). Caller-supplied text
is passed through as data and escaped where it is rendered (the browser sets
it with textContent, never innerHTML).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from callqueue.live import WARN_MARGIN_SECONDS, QueueView, Sample
from callqueue.metrics import QueueFigures

from cti import events as ev
from cti.actions import WRAP_UP_REASON
from cti.callerid import readable


def iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def mask_number(number: str | None) -> str | None:
    """'+4934125385555' -> '+49341253•••55' style: keep country and last two digits."""
    if not number:
        return number
    keep_head, keep_tail = min(6, len(number) // 2), 2
    hidden = max(0, len(number) - keep_head - keep_tail)
    return number[:keep_head] + "•" * hidden + number[len(number) - keep_tail:]


def caller_json(number: str | None, raw: str, name: str) -> dict[str, Any]:
    """Who calls: the normalised number (E.164, what matching and dialling use), what the
    PBX sent, the name the caller sent, and `display`, the number grouped as people read it."""
    return {"number": number, "raw": raw, "name": name, "display": readable(number)}


def call_json(call: ev.CallSnapshot) -> dict[str, Any]:
    return {
        "linkedid": call.linkedid, "queue": call.queue, "position": call.position,
        "caller": caller_json(call.caller_number, call.caller_raw, call.caller_name),
        "entered_at": iso(call.entered_at), "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at), "agent": call.agent,
        "ringing_agents": list(call.ringing_agents),
        "outcome": call.outcome.value if call.outcome else None,
        "wait_seconds": call.wait_seconds, "ring_seconds": call.ring_seconds,
        "talk_seconds": call.talk_seconds, "duration_seconds": call.duration_seconds,
        "route": route_json(call.route),
    }


def route_json(route: ev.CallRoute | None) -> dict[str, Any] | None:
    """Which route the FastAGI script chose and why; None when it did not answer."""
    if route is None:
        return None
    return {"reason": route.reason, "team": route.team, "language": route.language,
            "priority": route.priority, "priority_reason": route.priority_reason}


def agent_json(a: ev.AgentSnapshot, now: datetime) -> dict[str, Any]:
    """`wrapup_remaining_seconds`: what is left of Asterisk's wrap-up (the queue's
    wrapuptime) at `now`, so a browser counts down without trusting its own clock;
    None when not in wrap-up or its length is unknown. `extended_wrap_up`: paused
    with the wrap-up reason ("more time")."""
    remaining = None
    if a.wrapup_until is not None and a.state in (ev.AgentState.WRAP_UP, ev.AgentState.PAUSED):
        remaining = max(0.0, (a.wrapup_until - now).total_seconds())
    return {"agent": a.agent, "name": a.member_name, "state": a.state.value,
            "pause_reason": a.pause_reason, "since": iso(a.since),
            "seconds_in_state": max(0.0, (now - a.since).total_seconds()),
            "queues": list(a.queues), "linkedid": a.linkedid,
            "wrapup_until": iso(a.wrapup_until), "wrapup_remaining_seconds": remaining,
            "extended_wrap_up": a.state == ev.AgentState.PAUSED and a.pause_reason == WRAP_UP_REASON}


def figures_json(f: QueueFigures) -> dict[str, Any]:
    return {
        "offered": f.offered, "answered": f.answered, "answered_within": f.answered_within,
        "abandoned": f.abandoned, "short_abandons": f.short_abandons, "timeouts": f.timeouts,
        "after_hours": f.after_hours, "service_level": f.service_level,
        "service_level_asterisk": f.sl_asterisk, "service_level_asterisk2": f.sl2_asterisk,
        "asa_seconds": f.asa, "aht_seconds": f.aht, "abandon_rate": f.abandon_rate,
        "longest_wait_seconds": f.longest_wait, "threshold_seconds": f.threshold,
        "short_abandon_seconds": f.short_abandon,
        "service_level_definition": (f"answered within {f.threshold} s / (offered - abandoned "
                                     f"within {f.short_abandon} s)"),
    }


def sample_json(s: Sample) -> dict[str, Any]:
    return {"at": iso(s.at), "waiting": s.waiting, "service_level": s.service_level}


def queue_json(v: QueueView, now: datetime, mask: bool = False) -> dict[str, Any]:
    def number(n: str | None) -> str | None:
        return mask_number(n) if mask else n

    waiting = [{
        "linkedid": w.caller.linkedid, "position": i + 1,
        "caller": {"number": number(w.caller.caller_number),
                   "raw": mask_number(w.caller.caller_raw) if mask else w.caller.caller_raw,
                   "name": w.caller.caller_name, "display": None if mask else readable(w.caller.caller_number)},
        "entered_at": iso(w.caller.entered_at), "wait_seconds": w.wait_seconds,
        "expected_wait_seconds": w.expected_wait_seconds,
        "expected_remaining_seconds": w.expected_remaining_seconds, "at_risk": w.at_risk,
        "breached": w.breached, "ringing_agents": list(w.caller.ringing_agents),
    } for i, w in enumerate(v.waiting)]
    return {
        "name": v.name, "at": iso(now), "waiting": waiting, "waiting_count": len(waiting),
        "longest_wait_seconds": v.longest_wait_seconds,
        "agents": [agent_json(a.agent, now) for a in v.agents],
        "available_agents": v.available_agents, "staffed_agents": v.staffed_agents,
        "today": figures_json(v.today),
        "service_level_if_answered_now": v.service_level_now,
        "warn_margin_seconds": WARN_MARGIN_SECONDS,
    }
