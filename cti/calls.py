"""CallRegistry: the pure reducer that follows every call (keyed by Linkedid)
and every agent, and says what changed.

Layer: domain, pure: `apply(event, now)` has no I/O and never reads the clock.
Must not import from the rest of the project.

Outcomes are settled when the call ENDS, not when a queue event arrives:
Asterisk 22 sends QueueCallerAbandon for a queue timeout too, and only the
dialplan's HotlineQueueExit (CallTimedOut) that follows tells them apart.
Ended Linkedids are remembered (bounded) so replayed events change nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cti import events as ev
from cti.callerid import normalize
from cti.calls_agents import AgentBoard

Update = ev.CallUpdated | ev.AgentUpdated
REMEMBER_ENDED = 20_000
REMEMBER_ROUTES = 5_000  # routes of callers not in a queue yet (the AGI runs before Queue())


@dataclass
class _Call:
    linkedid: str
    caller_raw: str = ""
    caller_number: str | None = None
    caller_name: str = ""
    queue: str = ""
    entered_at: datetime | None = None
    position: int = 0
    ringing: list[str] = field(default_factory=list)
    answered_at: datetime | None = None
    agent: str | None = None
    ended_at: datetime | None = None
    outcome: ev.Outcome | None = None
    wait: float | None = None
    ring: float | None = None
    talk: float | None = None
    transferred_to: str | None = None
    agent_channel: str | None = None
    route: ev.CallRoute | None = None
    origin: ev.Origin | None = None
    overflow_site: str | None = None

    def snapshot(self) -> ev.CallSnapshot:
        start = self.entered_at
        duration = (self.ended_at - start).total_seconds() if self.ended_at and start else None
        return ev.CallSnapshot(
            linkedid=self.linkedid, caller_raw=self.caller_raw, caller_number=self.caller_number,
            caller_name=self.caller_name, queue=self.queue, entered_at=self.entered_at,
            position=self.position, ringing_agents=tuple(self.ringing),
            answered_at=self.answered_at, agent=self.agent, ended_at=self.ended_at,
            outcome=self.outcome, wait_seconds=self.wait, ring_seconds=self.ring,
            talk_seconds=self.talk, duration_seconds=duration,
            transferred_to=self.transferred_to, agent_channel=self.agent_channel, route=self.route,
            origin=self.origin, overflow_site=self.overflow_site)


class CallRegistry:
    def __init__(self, default_region: str = "DE") -> None:
        self.default_region = default_region
        self._calls: dict[str, _Call] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._routes: OrderedDict[str, ev.CallRoute] = OrderedDict()
        self.agents = AgentBoard()

    # --- queries -------------------------------------------------------------
    def calls(self) -> list[ev.CallSnapshot]:
        return [c.snapshot() for c in self._calls.values()]

    def call(self, linkedid: str) -> ev.CallSnapshot | None:
        c = self._calls.get(linkedid)
        return c.snapshot() if c else None

    def agent_list(self) -> list[ev.AgentSnapshot]:
        return self.agents.snapshots()

    # --- reducer ---------------------------------------------------------------
    def apply(self, event: ev.DomainEvent, now: datetime) -> list[Update]:
        linkedid = getattr(event, "linkedid", None)
        # a replayed or late event of a finished call changes nothing; but an AgentComplete
        # that came after the call's Hangup still starts the agent's wrap-up (_on_complete)
        if linkedid is not None and linkedid in self._ended and not isinstance(event, ev.CallCompleted):
            return []
        if isinstance(event, ev.AgentEvent | ev.MemberSnapshot):
            return list(self.agents.apply(event, now))
        handler = _HANDLERS.get(type(event))
        return handler(self, event, now) if handler else []

    def _get(self, linkedid: str, create: bool = True) -> _Call | None:
        call = self._calls.get(linkedid)
        if call is None and create and linkedid:
            call = self._calls[linkedid] = _Call(linkedid, route=self._routes.pop(linkedid, None))
        return call

    def _update(self, call: _Call, change: ev.CallChange, at: datetime,
                withdrawn: tuple[str, ...] = ()) -> ev.CallUpdated:
        return ev.CallUpdated(at=at, change=change, call=call.snapshot(), withdrawn_from=withdrawn)

    def _caller(self, call: _Call, raw: str, name: str) -> None:
        call.caller_raw, call.caller_name = raw, name
        call.caller_number = normalize(raw, self.default_region).e164

    def _in_queue(self, e: ev.CallerJoinedQueue | ev.WaitingCallerSnapshot) -> _Call:
        """A caller is (still) in a queue: from a join, or from a resync snapshot."""
        call = self._get(e.linkedid)
        assert call is not None
        if not call.caller_raw:
            self._caller(call, e.caller_raw, e.caller_name)
        call.queue, call.position = e.queue, e.position
        return call

    def _on_join(self, e: ev.CallerJoinedQueue, now: datetime) -> list[Update]:
        call = self._in_queue(e)
        call.entered_at = call.entered_at or e.at
        call.origin = call.origin or e.origin
        return [self._update(call, ev.CallChange.JOINED, e.at)]

    def _on_routed(self, e: ev.CallRouted, now: datetime) -> list[Update]:
        """Kept until the caller joins the queue (usually milliseconds later); a call
        already in the queue takes it at once and says so with no extra update."""
        call = self._calls.get(e.linkedid)
        if call is not None:
            call.route = e.route
            return []
        self._routes[e.linkedid] = e.route
        self._routes.move_to_end(e.linkedid)
        while len(self._routes) > REMEMBER_ROUTES:
            self._routes.popitem(last=False)
        return []


    def _on_ringing(self, e: ev.AgentRinging, now: datetime) -> list[Update]:
        call = self._get(e.linkedid)
        assert call is not None
        if e.agent not in call.ringing:
            call.ringing.append(e.agent)
        return [self._update(call, ev.CallChange.RINGING, e.at),
                *self.agents.ringing(e.agent, e.member_name, e.linkedid, e.at)]

    def _on_noanswer(self, e: ev.RingNotAnswered, now: datetime) -> list[Update]:
        call = self._get(e.linkedid, create=False)
        if call is None:
            return []
        return self._stop_ringing(call, ev.CallChange.RINGING, e.at, only=e.agent)

    def _stop_ringing(self, call: _Call, change: ev.CallChange, at: datetime,
                      only: str | None = None) -> list[Update]:
        """Stop the ringing (of `only`, or of everyone): the call update naming whose
        pops to withdraw, and those agents released."""
        withdrawn = tuple(a for a in call.ringing if only is None or a == only)
        call.ringing = [a for a in call.ringing if a not in withdrawn]
        out: list[Update] = [self._update(call, change, at, withdrawn)]
        for agent in withdrawn:
            out.extend(self.agents.released(agent, at))
        return out

    def _on_answer(self, e: ev.CallAnswered, now: datetime) -> list[Update]:
        call = self._get(e.linkedid)
        assert call is not None
        call.answered_at, call.agent, call.agent_channel = e.at, e.agent, e.agent_channel or None
        call.wait, call.ring = float(e.wait_seconds), float(e.ring_seconds)
        call.queue = call.queue or e.queue
        call.outcome = ev.Outcome.ANSWERED
        call.ringing = [a for a in call.ringing if a != e.agent]  # this one answered
        out = self._stop_ringing(call, ev.CallChange.ANSWERED, e.at)
        return [*out, *self.agents.on_call(e.agent, e.member_name, e.linkedid, e.at)]

    def _on_complete(self, e: ev.CallCompleted, now: datetime) -> list[Update]:
        call = self._get(e.linkedid, create=False)
        if call is None:  # ended already (its Hangup came first) or begun before we connected
            return list(self.agents.wrap_up(e.agent, e.queue, e.linkedid, e.at))
        call.talk = float(e.talk_seconds)
        call.wait = float(e.wait_seconds)
        if e.agent == call.agent:
            call.agent_channel = None  # the agent's part is over: nothing left to transfer from
        if e.completed_by is ev.CompletedBy.TRANSFER:
            call.outcome = ev.Outcome.TRANSFERRED
        return list(self.agents.wrap_up(e.agent, e.queue, e.linkedid, e.at))

    def _on_abandon(self, e: ev.CallAbandoned, now: datetime) -> list[Update]:
        call = self._get(e.linkedid, create=False)
        if call is None:
            return []
        call.wait = float(e.wait_seconds)
        return self._stop_ringing(call, ev.CallChange.LEFT_QUEUE, e.at)

    def _on_timeout(self, e: ev.CallTimedOut, now: datetime) -> list[Update]:
        call = self._get(e.linkedid, create=False)
        if call is None:
            return []
        call.outcome = ev.Outcome.TIMEOUT
        return self._stop_ringing(call, ev.CallChange.LEFT_QUEUE, e.at)

    def _on_callback(self, e: ev.CallbackRequested, now: datetime) -> list[Update]:
        """The caller left the queue for a callback: it ends as CALLBACK, not abandoned."""
        call = self._get(e.linkedid, create=False)
        if call is None or call.answered_at is not None:
            return []
        call.outcome = ev.Outcome.CALLBACK
        return []

    def _on_overflow(self, e: ev.CallOverflowed, now: datetime) -> list[Update]:
        """Another site took the call: this is its entry leg. Its wait here is the time in
        this site's queue (0 when no agent was ready and it never queued); the call ends
        OVERFLOWED, never abandoned, when that site's call ends."""
        call = self._get(e.linkedid)
        assert call is not None
        if call.overflow_site is not None or call.answered_at is not None:
            return []  # a repeated event, or answered here (then it never left)
        if not call.caller_raw:
            self._caller(call, e.caller_raw, e.caller_name)
        call.queue = call.queue or e.queue
        if call.wait is None:
            call.wait = max(0.0, (e.at - call.entered_at).total_seconds()) if call.entered_at else 0.0
        call.entered_at = call.entered_at or e.at
        call.overflow_site, call.outcome = e.site, ev.Outcome.OVERFLOWED
        return self._stop_ringing(call, ev.CallChange.OVERFLOWED, e.at)

    def _on_transfer(self, e: ev.CallTransferred, now: datetime) -> list[Update]:
        call = self._get(e.linkedid, create=False)
        if call is None:
            return []
        call.transferred_to, call.outcome = e.target, ev.Outcome.TRANSFERRED
        if e.by_agent == call.agent:
            call.agent_channel = None  # the transferring agent's leg leaves the call
        return [self._update(call, ev.CallChange.TRANSFERRED, e.at)]

    def _on_after_hours(self, e: ev.AfterHoursCall, now: datetime) -> list[Update]:
        call = self._get(e.linkedid)
        assert call is not None
        self._caller(call, e.caller_raw, e.caller_name)
        call.queue, call.entered_at, call.outcome = e.queue, e.at, ev.Outcome.AFTER_HOURS
        return [self._update(call, ev.CallChange.AFTER_HOURS, e.at)]

    def _on_end(self, e: ev.CallEnded, now: datetime) -> list[Update]:
        call = self._calls.get(e.linkedid)
        if call is None:
            return []
        return self._finish(call, e.at)

    def _finish(self, call: _Call, at: datetime) -> list[Update]:
        call.ended_at = at
        if call.outcome is None:
            call.outcome = ev.Outcome.ANSWERED if call.answered_at else ev.Outcome.ABANDONED
        if call.answered_at and call.talk is None:
            call.talk = max(0.0, (at - call.answered_at).total_seconds())
        if call.wait is None and call.entered_at and call.outcome != ev.Outcome.AFTER_HOURS:
            end = call.answered_at or at
            call.wait = max(0.0, (end - call.entered_at).total_seconds())
        del self._calls[call.linkedid]
        self._ended[call.linkedid] = None
        while len(self._ended) > REMEMBER_ENDED:
            self._ended.popitem(last=False)
        return self._stop_ringing(call, ev.CallChange.ENDED, at)

    # --- resync ----------------------------------------------------------------
    def _on_waiting(self, e: ev.WaitingCallerSnapshot, now: datetime) -> list[Update]:
        call = self._in_queue(e)
        if call.entered_at is None:
            call.entered_at = e.at.fromtimestamp(e.at.timestamp() - e.wait_seconds, e.at.tzinfo)
        return [self._update(call, ev.CallChange.RESYNCED, e.at)]

    def _on_channel(self, e: ev.ActiveChannelSnapshot, now: datetime) -> list[Update]:
        return []  # only the set of active Linkedids matters (ResyncCompleted)

    def _on_resynced(self, e: ev.ResyncCompleted, now: datetime) -> list[Update]:
        out: list[Update] = []
        for call in [c for c in self._calls.values() if c.linkedid not in e.active_linkedids]:
            out.extend(self._finish(call, e.at))  # ended while we were not connected
        return out


_HANDLERS: dict[type, Callable[[CallRegistry, Any, datetime], list[Update]]] = {
    ev.CallerJoinedQueue: CallRegistry._on_join, ev.AgentRinging: CallRegistry._on_ringing,
    ev.RingNotAnswered: CallRegistry._on_noanswer, ev.CallAnswered: CallRegistry._on_answer,
    ev.CallCompleted: CallRegistry._on_complete, ev.CallAbandoned: CallRegistry._on_abandon,
    ev.CallTimedOut: CallRegistry._on_timeout, ev.CallTransferred: CallRegistry._on_transfer,
    ev.AfterHoursCall: CallRegistry._on_after_hours, ev.CallEnded: CallRegistry._on_end,
    ev.WaitingCallerSnapshot: CallRegistry._on_waiting,
    ev.ActiveChannelSnapshot: CallRegistry._on_channel,
    ev.ResyncCompleted: CallRegistry._on_resynced, ev.CallRouted: CallRegistry._on_routed,
    ev.CallbackRequested: CallRegistry._on_callback, ev.CallOverflowed: CallRegistry._on_overflow,
}
