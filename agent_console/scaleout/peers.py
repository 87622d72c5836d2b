"""PeerShare: every instance's SHARED events (ticket edits) reach every other instance once.

Layer: a thin shell over the bus, no I/O of its own (the caller's `send` queues
for Redis). Used by both sides of scale-out, relay (the bridge instance) and
remote (web-only instances); imports only the codec, cti.bus and tickets.events.

The rule, in one place: this instance's own SHARED events go out on the peers
channel; another instance's come in and are published on this instance's bus;
and the ones being published from a peer are never sent out again (the peer
had them first and shared them with everyone already), which is what keeps an
edit from echoing between instances for ever. An edit held while a link was down
can arrive after a newer one of the same ticket (or twice, when a publish was cut
before its answer): each instance keeps the newest `updated_at` it has seen per
ticket and publishes only newer ones, so a console never steps back.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from agent_console.scaleout import codec
from cti.bus import EventBus
from tickets.events import TicketUpdated

NEWEST_KEPT = 10_000  # tickets whose newest edit time is remembered


class PeerShare:
    """`send(channel, message)` queues one PeerEvent for Redis (and counts what it
    cannot take); `received` counts the other instances' events published here."""

    def __init__(self, origin: str, channel: str, send: Callable[[str, codec.PeerEvent], None]) -> None:
        self.origin, self.channel, self._send = origin, channel, send
        self.bus: EventBus | None = None
        self._delivering: list[object] = []  # peers' events being published on our bus right now
        self._newest: OrderedDict[int, datetime] = OrderedDict()  # ticket id -> newest updated_at seen
        self.received = 0
        self.stale = 0  # peers' edits older than what this instance had: not published

    def subscribe(self, bus: EventBus) -> None:
        self.bus = bus
        for kind in codec.SHARED:
            bus.subscribe(kind, self._on_shared)

    def _on_shared(self, event: object) -> None:
        """A bus handler: only enqueues, never waits."""
        if any(event is e for e in self._delivering) or not isinstance(event, TicketUpdated):
            return  # a peer's, which we are delivering: it already reached everyone
        self._is_newer(event)
        self._send(self.channel, codec.PeerEvent(self.origin, event))

    def _is_newer(self, event: TicketUpdated) -> bool:
        """Remember `event` as the ticket's newest; False when one as new was seen."""
        seen = self._newest.get(event.id)
        if seen is not None and event.updated_at <= seen:
            return False
        self._newest[event.id] = event.updated_at
        self._newest.move_to_end(event.id)
        while len(self._newest) > NEWEST_KEPT:
            self._newest.popitem(last=False)
        return True

    async def receive(self, message: codec.Message) -> None:
        """A message from the peers channel: another instance's shared event is
        published on our bus; our own (Redis echoes it to us) and anything else is not."""
        if not isinstance(message, codec.PeerEvent) or message.origin == self.origin or self.bus is None:
            return
        self.received += 1
        if not self._is_newer(message.event):
            self.stale += 1
            return
        self._delivering.append(message.event)
        try:
            await self.bus.publish(message.event)
        finally:
            self._delivering.remove(message.event)
