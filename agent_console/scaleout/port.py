"""What the console needs from the PBX, whichever instance holds the AMI link.

Layer: edge types plus one pure reducer; no I/O of its own. `PbxPort` is met
by LocalPbx (this instance's own cti.bridge.AmiBridge) and by
agent_console.scaleout.remote.RemoteBridge (a web-only instance that reaches the
bridge instance over Redis). `LiveMirror` is the web-only instance's copy of
the bridge's call registry, folded from the relayed registry updates.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Protocol

from cti import events as ev
from cti.actions import ActionResult
from cti.bridge import AmiBridge


class PbxUnavailable(Exception):
    """No way to the PBX right now (answered 503): the bus to the bridge
    instance is down, nobody answers on it, or the bridge has no AMI link."""


class LiveRegistry(Protocol):
    def calls(self) -> list[ev.CallSnapshot]: ...

    def call(self, linkedid: str) -> ev.CallSnapshot | None: ...

    def agent_list(self) -> list[ev.AgentSnapshot]: ...


class PbxPort(Protocol):
    @property
    def connected(self) -> bool: ...

    @property
    def registry(self) -> LiveRegistry: ...

    async def send(self, name: str, fields: dict[str, str]) -> ActionResult: ...


class LocalPbx:
    """This instance's own AMI bridge, as a PbxPort."""

    def __init__(self, bridge: AmiBridge) -> None:
        self.bridge = bridge

    @property
    def connected(self) -> bool:
        return self.bridge.connected

    @property
    def registry(self) -> LiveRegistry:
        return self.bridge.registry

    async def send(self, name: str, fields: dict[str, str]) -> ActionResult:
        return await self.bridge.send(name, fields)


class LiveMirror:
    """Calls in progress and agents as the bridge instance's registry has them."""

    def __init__(self) -> None:
        self._calls: dict[str, ev.CallSnapshot] = {}
        self._agents: dict[str, ev.AgentSnapshot] = {}

    def calls(self) -> list[ev.CallSnapshot]:
        return list(self._calls.values())

    def call(self, linkedid: str) -> ev.CallSnapshot | None:
        return self._calls.get(linkedid)

    def agent_list(self) -> list[ev.AgentSnapshot]:
        return list(self._agents.values())

    def apply(self, event: object) -> None:
        if isinstance(event, ev.CallUpdated):
            if event.change == ev.CallChange.ENDED or event.call.ended_at is not None:
                self._calls.pop(event.call.linkedid, None)
            else:
                self._calls[event.call.linkedid] = event.call
        elif isinstance(event, ev.AgentUpdated):
            self._agents[event.agent.agent] = event.agent

    def gone(self, state: tuple[object, ...], at: datetime) -> list[ev.CallUpdated]:
        """The calls this mirror holds that a fresh state no longer has (they ended
        while this instance was not listening), as ENDED updates without an outcome
        (so the live statistics do not count them) withdrawing their pops."""
        live = {e.call.linkedid for e in state if isinstance(e, ev.CallUpdated)}
        return [ev.CallUpdated(at=at, change=ev.CallChange.ENDED,
                               call=replace(call, ended_at=at, ringing_agents=(), outcome=None),
                               withdrawn_from=call.ringing_agents)
                for linkedid, call in self._calls.items() if linkedid not in live]
