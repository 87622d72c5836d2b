"""AgentBoard: the agents' half of the CallRegistry (pure, no I/O, no clock).

Layer: domain. Must not import from the rest of the project.
State per agent interface (e.g. PJSIP/1001): available, ringing, on call,
wrap-up, paused with reason, logged out, unavailable (phone not registered);
and its queue penalty (routing's band, tickets.routing), as Asterisk last said.

Wrap-up: Asterisk holds a member for the queue's `wrapuptime` after each queue
call (counted from the call's end, its LastCall) and sends no event when that
time is over, so the board keeps `wrapup_until` and leaves WRAP_UP on the
bridge's WrapUpDue timer. An agent paused during wrap-up who unpauses before
`wrapup_until` is back in Asterisk's wrap-up, not available.

AgentComplete and the caller's Hangup come from different Asterisk threads, in
either order: a call may be over (and the agent's phone free) before its
AgentComplete says the wrap-up starts. The board wraps up once per call
(`wrapped`, the last call's Linkedid), whichever came first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cti import events as ev

S = ev.AgentState


@dataclass
class _Agent:
    agent: str
    member_name: str = ""
    state: ev.AgentState = S.LOGGED_OUT
    pause_reason: str = ""
    since: datetime | None = None
    queues: set[str] = field(default_factory=set)
    linkedid: str | None = None
    paused: bool = False
    wrapup_until: datetime | None = None
    penalty: int | None = None
    wrapped: str | None = None  # the Linkedid of the last call wrapped up (a repeat changes nothing)

    def snapshot(self, at: datetime) -> ev.AgentSnapshot:
        return ev.AgentSnapshot(
            agent=self.agent, member_name=self.member_name, state=self.state,
            pause_reason=self.pause_reason, since=self.since or at,
            queues=tuple(sorted(self.queues)), linkedid=self.linkedid,
            wrapup_until=self.wrapup_until, penalty=self.penalty)

    def in_wrapup(self, at: datetime) -> bool:
        return self.wrapup_until is not None and at < self.wrapup_until


class AgentBoard:
    def __init__(self) -> None:
        self._agents: dict[str, _Agent] = {}
        self._wrapup: dict[str, int | None] = {}  # queue -> wrapuptime (s), from Asterisk

    def wrapup_seconds(self, queue: str) -> int | None:
        return self._wrapup.get(queue)

    def snapshots(self) -> list[ev.AgentSnapshot]:
        return [a.snapshot(a.since or datetime.min) for a in self._agents.values()]

    def penalties(self, leaving_out: Collection[ev.AgentState]) -> list[int]:
        """The queue penalties of the agents not in `leaving_out` (those Asterisk reported one
        for): what routing asks for every call, without a snapshot of every agent."""
        return [a.penalty for a in self._agents.values() if a.penalty is not None and a.state not in leaving_out]

    def _agent(self, interface: str, name: str = "") -> _Agent:
        agent = self._agents.get(interface)
        if agent is None:
            agent = self._agents[interface] = _Agent(interface)
        if name:
            agent.member_name = name
        return agent

    def _set(self, agent: _Agent, state: ev.AgentState, at: datetime,
             linkedid: str | None = None) -> Iterator[ev.AgentUpdated]:
        if agent.paused and state in (S.AVAILABLE, S.WRAP_UP):
            state = S.PAUSED
        if state == agent.state and linkedid == agent.linkedid:
            return
        agent.state, agent.linkedid = state, linkedid
        agent.since = at
        yield ev.AgentUpdated(at=at, agent=agent.snapshot(at))

    def ringing(self, interface: str, name: str, linkedid: str,
                at: datetime) -> Iterator[ev.AgentUpdated]:
        yield from self._set(self._agent(interface, name), S.RINGING, at, linkedid)

    def on_call(self, interface: str, name: str, linkedid: str,
                at: datetime) -> Iterator[ev.AgentUpdated]:
        agent = self._agent(interface, name)
        agent.wrapup_until = None
        yield from self._set(agent, S.ON_CALL, at, linkedid)

    def released(self, interface: str, at: datetime) -> Iterator[ev.AgentUpdated]:
        agent = self._agent(interface)
        if agent.state == S.RINGING:
            yield from self._set(agent, S.AVAILABLE, at)

    def wrap_up(self, interface: str, queue: str, linkedid: str, at: datetime) -> Iterator[ev.AgentUpdated]:
        """A queue call ended (AgentComplete): Asterisk's wrap-up starts now, also when the
        call's Hangup came first; not again for the same call, nor for an agent already
        on another call (a late event of an earlier one)."""
        agent = self._agent(interface)
        busy_elsewhere = agent.state in (S.RINGING, S.ON_CALL) and agent.linkedid not in (None, linkedid)
        if agent.wrapped == linkedid or busy_elsewhere:
            return
        agent.wrapped = linkedid
        seconds = self._wrapup.get(queue)
        agent.wrapup_until = at + timedelta(seconds=seconds) if seconds else None
        if seconds == 0:  # no wrapuptime: Asterisk offers the next call at once
            yield from self._set(agent, S.AVAILABLE, at)
        else:  # unknown length (None): wrap-up until the next state change
            yield from self._set(agent, S.WRAP_UP, at)

    def _wrapup_due(self, e: ev.WrapUpDue) -> Iterator[ev.AgentUpdated]:
        agent = self._agents.get(e.agent)
        if agent is None or agent.wrapup_until is None or agent.in_wrapup(e.at):
            return  # unknown, or a stale timer of an earlier wrap-up
        agent.wrapup_until = None
        if agent.state == S.WRAP_UP:
            yield from self._set(agent, S.AVAILABLE, e.at)
        elif agent.state == S.PAUSED:  # e.g. extended wrap-up: Asterisk's part is over
            yield ev.AgentUpdated(at=e.at, agent=agent.snapshot(e.at))

    def apply(self, e: ev.AgentEvent | ev.MemberSnapshot,
              now: datetime) -> Iterator[ev.AgentUpdated]:
        if isinstance(e, ev.QueueWrapUpTime):
            self._wrapup[e.queue] = e.seconds
        elif isinstance(e, ev.WrapUpDue):
            yield from self._wrapup_due(e)
        elif isinstance(e, ev.AgentPenaltyChanged):
            agent = self._agent(e.agent)
            if agent.penalty != e.penalty:
                agent.penalty = e.penalty
                yield ev.AgentUpdated(at=e.at, agent=agent.snapshot(e.at))
        elif isinstance(e, ev.AgentLoggedIn):
            agent = self._agent(e.agent, e.member_name)
            agent.queues.add(e.queue)
            agent.penalty = e.penalty if e.penalty is not None else agent.penalty
            agent.paused, agent.pause_reason = e.paused, e.pause_reason
            yield from self._set(agent, S.PAUSED if e.paused else S.AVAILABLE, e.at)
        elif isinstance(e, ev.AgentLoggedOut):
            agent = self._agent(e.agent)
            agent.queues.discard(e.queue)
            if not agent.queues:
                agent.paused = False
                yield from self._set(agent, S.LOGGED_OUT, e.at)
        elif isinstance(e, ev.AgentPaused):
            agent = self._agent(e.agent)
            agent.paused, agent.pause_reason = True, e.reason
            if agent.state not in (S.ON_CALL, S.RINGING):
                yield from self._set(agent, S.PAUSED, e.at)
        elif isinstance(e, ev.AgentUnpaused):
            agent = self._agent(e.agent)
            agent.paused, agent.pause_reason = False, ""
            if agent.state == S.PAUSED:  # back in Asterisk's wrap-up if it still runs
                yield from self._set(agent, S.WRAP_UP if agent.in_wrapup(e.at) else S.AVAILABLE, e.at)
        else:
            yield from self._device(e, now)

    def _device(self, e: ev.AgentDeviceChanged | ev.MemberSnapshot,
                now: datetime) -> Iterator[ev.AgentUpdated]:
        agent = self._agent(e.agent, e.member_name)
        agent.queues.add(e.queue)
        agent.penalty = e.penalty if e.penalty is not None else agent.penalty
        agent.paused = e.paused
        agent.pause_reason = e.pause_reason if e.paused else ""
        if not e.registered:
            state = S.UNAVAILABLE
        elif e.in_call:
            state = S.ON_CALL
        elif e.available:
            # the device is free; after a call Asterisk's wrap-up still holds
            # the agent, which AgentComplete has already marked as WRAP_UP
            self._resync_wrapup(agent, e)
            state = S.WRAP_UP if agent.state == S.WRAP_UP or agent.in_wrapup(e.at) else S.AVAILABLE
        else:
            state = agent.state if agent.state in (S.RINGING, S.ON_CALL) else S.ON_CALL
        if e.paused and state in (S.AVAILABLE, S.WRAP_UP):
            state = S.PAUSED
        if state == S.WRAP_UP and agent.wrapup_until is not None and not agent.in_wrapup(e.at):
            state = S.AVAILABLE  # its timer may have been missed (e.g. while disconnected)
        at = e.at
        yield from self._set(agent, state, at, agent.linkedid if state in (S.RINGING, S.ON_CALL)
                             else None)

    def _resync_wrapup(self, agent: _Agent, e: ev.AgentDeviceChanged | ev.MemberSnapshot) -> None:
        """After a (re)connect, QueueStatus' LastCall tells whether Asterisk still
        holds the member in wrap-up (a console reloaded mid-wrap-up keeps its countdown)."""
        last_call = getattr(e, "last_call", None)
        seconds = self._wrapup.get(e.queue)
        if last_call is not None and seconds and agent.wrapup_until is None:
            until = last_call + timedelta(seconds=seconds)
            if e.at < until:
                agent.wrapup_until = until
