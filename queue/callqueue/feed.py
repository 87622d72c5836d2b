"""QueueFeed: keeps the live QueueProjection current from the bus.

Layer: thin async shell around the pure callqueue.live.QueueProjection. May
import cti (events, bus, tasks) and callqueue; nothing else of the project (the
composition root hands it the stored calls of today, it never reads the
database itself).

It owns everything that moves the projection: the registry's call and agent
updates and the queue's wrap-up time (subscribed with one `subscribe(bus)`),
calls recovered from queue_log that never were on the bus (`record`), the start
of "today" in the hotline's time zone (moved at local midnight) and the chart's
samples. Whoever shows the queue (the wallboard push) registers with
`on_change` and reads `projection`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from callqueue.live import QueueProjection
from callqueue.metrics import FinishedCall
from cti import events as ev
from cti.bus import EventBus

SAMPLE_EVERY = 5.0  # seconds between the chart's samples (the wallboard asks for 5 s)

FeedEvent = ev.CallUpdated | ev.AgentUpdated | ev.QueueWrapUpTime


def day_start(now: datetime, timezone: str) -> datetime:
    """Local midnight of `now`'s day in `timezone`, as UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


class QueueFeed:
    def __init__(self, projection: QueueProjection, clock: Callable[[], datetime], timezone: str,
                 queue: str, sample_every: float = SAMPLE_EVERY) -> None:
        self.projection, self.clock, self.timezone = projection, clock, timezone
        self.sample_every = sample_every
        self.projection.queues.add(queue)
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, bus: EventBus) -> None:
        for kind in (ev.CallUpdated, ev.AgentUpdated, ev.QueueWrapUpTime):
            bus.subscribe(kind, self.apply)

    def on_change(self, listener: Callable[[], None]) -> None:
        """`listener()` runs (synchronously: it must only take note) after every change."""
        self._listeners.append(listener)

    def apply(self, event: FeedEvent) -> None:
        self.projection.apply(event, self.clock())
        self._changed()

    def record(self, update: ev.CallUpdated) -> None:
        """A call that ended while hotline was not listening (queue_log): today's figures
        count it; it never was on the bus, so nobody gets a pop for it."""
        self.apply(update)

    def load_today(self, finished: Iterable[tuple[str, datetime, FinishedCall]]) -> None:
        """Seed today's figures with the calls stored since local midnight."""
        self.projection.day_start = self.today_starts()
        for queue, ended_at, call in finished:
            self.projection.load_finished(queue, ended_at, call)
        self._changed()

    def today_starts(self) -> datetime:
        return day_start(self.clock(), self.timezone)

    def tick(self) -> None:
        """Move 'today' at local midnight and take the chart's sample."""
        now = self.clock()
        self.projection.day_start = day_start(now, self.timezone)
        self.projection.sample(now)
        self._changed()

    async def run(self) -> None:
        """The sampler: a tick every `sample_every` seconds, on the clock's boundaries."""
        while True:
            self.tick()
            now = self.clock()
            into = (now.timestamp() % self.sample_every) if self.sample_every > 0 else 0.0
            await asyncio.sleep(max(0.05, self.sample_every - into))

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()
