"""AmiBridge: connection -> translate -> registry -> bus. The thin async shell.

Layer: I/O shell. Must not import from the rest of the project.

On every (re)connect it resyncs: CoreShowChannels and QueueStatus are
translated into snapshot events and applied, then ResyncCompleted ends the
calls Asterisk no longer has, so the registry matches Asterisk again.
AMI has no replay: whatever happened while disconnected is only visible in
that snapshot (and in queue_log).

Wrap-up: before QueueStatus the resync asks Asterisk for the queue's
`wrapuptime`, published by the dialplan as the global HOTLINE_WRAPUP_SECONDS
(Getvar; the AMI user's `call` class suffices, and no func_config.so, which
would let the AMI user read every config file). Asterisk sends no event when a member's
wrap-up ends, so the bridge keeps one timer per agent in wrap-up and applies a
WrapUpDue when it runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from cti import events as ev
from cti.actions import ActionResult
from cti.bus import EventBus
from cti.calls import CallRegistry
from cti.connection import AmiClient, AmiError, ConnectionLost
from cti.protocol import AmiMessage
from cti.tasks import TaskSet
from cti.translate import EVENTS, action_result, translate

log = logging.getLogger(__name__)
WRAPUP_VARIABLE = "HOTLINE_WRAPUP_SECONDS"  # dialplan global = queues.conf wrapuptime


def utc_now() -> datetime:
    return datetime.now(UTC)


class AmiBridge:
    def __init__(self, *, host: str, port: int, username: str, secret: str, bus: EventBus,
                 registry: CallRegistry, clock: Callable[[], datetime] = utc_now,
                 queue: str = "hotline", ping_interval: float = 10.0) -> None:
        self.bus, self.registry, self.clock, self.queue = bus, registry, clock, queue
        self.client = AmiClient(host, port, username, secret, on_message=self._on_message,
                                on_connected=self._on_connected,
                                on_disconnected=self._on_disconnected,
                                ping_interval=ping_interval, wanted=EVENTS)
        self.resyncs = 0
        self._wrapup_timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks = TaskSet()

    @property
    def connected(self) -> bool:
        return self.client.connected.is_set()

    def start(self) -> None:
        self.client.start()

    async def close(self) -> None:
        for timer in self._wrapup_timers.values():
            timer.cancel()
        self._wrapup_timers.clear()
        self._tasks.cancel()
        await self.client.close()

    async def send(self, name: str, fields: dict[str, str]) -> ActionResult:
        """Run one action (built and validated by cti.actions); never re-sent. The
        reply comes back typed: raw AMI stays inside cti."""
        return action_result(await self.client.send_action(name, fields))

    async def note(self, event: ev.DomainEvent) -> None:
        """An event from outside AMI (the FastAGI route) into the registry and onto the bus."""
        await self._publish([event], self.clock())

    async def _publish(self, events: list[ev.DomainEvent], now: datetime) -> None:
        for event in events:
            await self.bus.publish(event)
            for update in self.registry.apply(event, now):
                if isinstance(update, ev.AgentUpdated):
                    self._watch_wrapup(update.agent)
                await self.bus.publish(update)

    def _watch_wrapup(self, agent: ev.AgentSnapshot) -> None:
        """One timer per agent, set while Asterisk's wrap-up runs."""
        old = self._wrapup_timers.pop(agent.agent, None)
        if old is not None:
            old.cancel()
        until = agent.wrapup_until
        if until is None:
            return
        delay = max(0.0, (until - self.clock()).total_seconds())
        self._wrapup_timers[agent.agent] = asyncio.get_running_loop().call_later(
            delay, self._wrapup_due, agent.agent, until)

    def _wrapup_due(self, interface: str, until: datetime) -> None:
        self._wrapup_timers.pop(interface, None)
        now = max(self.clock(), until)  # the loop's timer may fire a hair early
        self._tasks.spawn(self._publish([ev.WrapUpDue(at=now, agent=interface)], now), f"wrapup-due-{interface}")

    async def wrapup_seconds(self) -> int | None:
        """The queue's wrapuptime as the dialplan publishes it (global
        HOTLINE_WRAPUP_SECONDS); None when unset or not a number."""
        reply = await self.client.send_action("Getvar", {"Variable": WRAPUP_VARIABLE})
        value = reply.get("Value").strip()
        if not value:
            return None
        try:
            return max(0, int(value))
        except ValueError:
            return None

    async def _on_message(self, msg: AmiMessage) -> None:
        now = self.clock()
        await self._publish(translate(msg, now), now)

    async def _on_connected(self, restarted: bool) -> None:
        now = self.clock()
        await self.bus.publish(ev.PbxConnected(at=now, restarted=restarted))
        try:
            await self.resync()
        except (AmiError, ConnectionLost, TimeoutError) as exc:
            log.warning("resync after connect failed: %s", exc)

    async def _on_disconnected(self, reason: str) -> None:
        await self.bus.publish(ev.PbxDisconnected(at=self.clock(), reason=reason))

    async def resync(self) -> None:
        try:
            wrapup = await self.wrapup_seconds()
        except (AmiError, TimeoutError) as exc:
            log.warning("could not read the queue's wrapuptime: %s", exc)
            wrapup = None
        if wrapup is None:
            log.warning("queue %s: wrapuptime unknown (set the dialplan global %s to the queue's "
                        "wrapuptime, see asterisk-config/extensions.conf); "
                        "wrap-up is shown without its remaining time", self.queue, WRAPUP_VARIABLE)
        await self._publish([ev.QueueWrapUpTime(at=self.clock(), queue=self.queue, seconds=wrapup)],
                            self.clock())
        channels = await self.client.send_action_list("CoreShowChannels", "CoreShowChannelsComplete")
        status = await self.client.send_action_list("QueueStatus", "QueueStatusComplete",
                                                    {"Queue": self.queue})
        now = self.clock()
        active: set[str] = set()
        for msg in [*channels, *status]:
            events = translate(msg, now)
            for event in events:
                linkedid = getattr(event, "linkedid", "")
                if isinstance(event, ev.ActiveChannelSnapshot | ev.WaitingCallerSnapshot):
                    active.add(linkedid)
            await self._publish(events, now)
        await self._publish([ev.ResyncCompleted(at=now, active_linkedids=frozenset(active))], now)
        self.resyncs += 1
