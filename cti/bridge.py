"""AmiBridge: connection -> translate -> registry -> bus. The thin async shell.

Layer: I/O shell. Must not import from the rest of the project.

On every (re)connect it resyncs: CoreShowChannels and QueueStatus are
translated into snapshot events and applied, then ResyncCompleted ends the
calls Asterisk no longer has, so the registry matches Asterisk again.
AMI has no replay: whatever happened while disconnected is only visible in
that snapshot (and in queue_log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from cti import events as ev
from cti.bus import EventBus
from cti.calls import CallRegistry
from cti.connection import AmiClient, AmiError, ConnectionLost
from cti.protocol import AmiMessage
from cti.translate import translate

log = logging.getLogger(__name__)


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
                                ping_interval=ping_interval)
        self.resyncs = 0

    @property
    def connected(self) -> bool:
        return self.client.connected.is_set()

    def start(self) -> None:
        self.client.start()

    async def close(self) -> None:
        await self.client.close()

    async def send(self, name: str, fields: dict[str, str]) -> AmiMessage:
        """Run one action (built and validated by cti.actions); never re-sent."""
        return await self.client.send_action(name, fields)

    async def _publish(self, events: list[ev.DomainEvent], now: datetime) -> None:
        for event in events:
            await self.bus.publish(event)
            for update in self.registry.apply(event, now):
                await self.bus.publish(update)

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
