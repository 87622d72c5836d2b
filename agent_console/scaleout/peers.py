"""PeerShare: every instance's SHARED events (ticket edits) reach every other instance once.

Layer: a thin shell over the bus, no I/O of its own (the caller's `send` queues
for Redis). Used by both sides of scale-out, relay (the bridge instance) and
remote (web-only instances); imports only the codec, cti.bus and tickets.events.

The rule, in one place: this instance's own SHARED events go out on the peers
channel; another instance's come in and are published on this instance's bus;
and the ones being published from a peer are never sent out again (the peer
had them first and shared them with everyone already), which is what keeps an
edit from echoing between instances for ever.
"""

from __future__ import annotations

from collections.abc import Callable

from agent_console.scaleout import codec
from cti.bus import EventBus
from tickets.events import TicketUpdated


class PeerShare:
    """`send(channel, message)` queues one PeerEvent for Redis (and counts what it
    cannot take); `received` counts the other instances' events published here."""

    def __init__(self, origin: str, channel: str, send: Callable[[str, codec.PeerEvent], None]) -> None:
        self.origin, self.channel, self._send = origin, channel, send
        self.bus: EventBus | None = None
        self._delivering: list[object] = []  # peers' events being published on our bus right now
        self.received = 0

    def subscribe(self, bus: EventBus) -> None:
        self.bus = bus
        for kind in codec.SHARED:
            bus.subscribe(kind, self._on_shared)

    def _on_shared(self, event: object) -> None:
        """A bus handler: only enqueues, never waits."""
        if any(event is e for e in self._delivering) or not isinstance(event, TicketUpdated):
            return  # a peer's, which we are delivering: it already reached everyone
        self._send(self.channel, codec.PeerEvent(self.origin, event))

    async def receive(self, message: codec.Message) -> None:
        """A message from the peers channel: another instance's shared event is
        published on our bus; our own (Redis echoes it to us) and anything else is not."""
        if not isinstance(message, codec.PeerEvent) or message.origin == self.origin or self.bus is None:
            return
        self.received += 1
        self._delivering.append(message.event)
        try:
            await self.bus.publish(message.event)
        finally:
            self._delivering.remove(message.event)
