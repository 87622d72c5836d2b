"""AgentBoard: the agents' half of the CallRegistry (pure, no I/O, no clock).

Layer: domain. Must not import from the rest of the project.
State per agent interface (e.g. PJSIP/1001): available, ringing, on call,
wrap-up, paused with reason, logged out, unavailable (phone not registered).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

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

    def snapshot(self, at: datetime) -> ev.AgentSnapshot:
        return ev.AgentSnapshot(
            agent=self.agent, member_name=self.member_name, state=self.state,
            pause_reason=self.pause_reason, since=self.since or at,
            queues=tuple(sorted(self.queues)), linkedid=self.linkedid)


class AgentBoard:
    def __init__(self) -> None:
        self._agents: dict[str, _Agent] = {}

    def snapshots(self) -> list[ev.AgentSnapshot]:
        return [a.snapshot(a.since or datetime.min) for a in self._agents.values()]

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
        yield from self._set(self._agent(interface, name), S.ON_CALL, at, linkedid)

    def released(self, interface: str, at: datetime) -> Iterator[ev.AgentUpdated]:
        agent = self._agent(interface)
        if agent.state == S.RINGING:
            yield from self._set(agent, S.AVAILABLE, at)

    def wrap_up(self, interface: str, at: datetime) -> Iterator[ev.AgentUpdated]:
        yield from self._set(self._agent(interface), S.WRAP_UP, at)

    def apply(self, e: ev.AgentEvent | ev.MemberSnapshot,
              now: datetime) -> Iterator[ev.AgentUpdated]:
        if isinstance(e, ev.AgentLoggedIn):
            agent = self._agent(e.agent, e.member_name)
            agent.queues.add(e.queue)
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
            if agent.state == S.PAUSED:
                yield from self._set(agent, S.AVAILABLE, e.at)
        else:
            yield from self._device(e, now)

    def _device(self, e: ev.AgentDeviceChanged | ev.MemberSnapshot,
                now: datetime) -> Iterator[ev.AgentUpdated]:
        agent = self._agent(e.agent, e.member_name)
        agent.queues.add(e.queue)
        agent.paused = e.paused
        agent.pause_reason = e.pause_reason if e.paused else ""
        if not e.registered:
            state = S.UNAVAILABLE
        elif e.in_call:
            state = S.ON_CALL
        elif e.available:
            # the device is free; after a call Asterisk's wrap-up still holds
            # the agent, which AgentComplete has already marked as WRAP_UP
            state = agent.state if agent.state == S.WRAP_UP and not e.paused else S.AVAILABLE
        else:
            state = agent.state if agent.state in (S.RINGING, S.ON_CALL) else S.ON_CALL
        if e.paused and state in (S.AVAILABLE, S.WRAP_UP):
            state = S.PAUSED
        at = e.at
        yield from self._set(agent, state, at, agent.linkedid if state in (S.RINGING, S.ON_CALL)
                             else None)
