"""WallboardPush: the supervisors' live queue view, pushed and asked for.

Layer: I/O shell (callqueue.feed in, hub out). Each change of the queue
projection marks the view dirty; one named task publishes `queue.updated` to
supervisors at most once per `every` seconds per burst, so a flood of AMI
events costs one message per interval. `views()` is the same data for the
WebSocket snapshot and `GET /api/queues`. A caller's survey answer (tickets.events.SurveyAnswered, from the
bridge instance's FastAGI or relayed to a web-only one) goes to supervisors as
`survey.answered`. The callbacks waiting (tickets.events.CallbacksWaiting, from the
callback dispatcher) ride along in each queue's view as `callbacks` (count and since
when the oldest one's caller waits); a change pushes `queue.updated`.

The pops go first: with `after` set (app.py: the notifier's `quiet`), a dirty view waits
until the rings queued so far are out, and the agents' states the notifier holds until
the rest of a burst is read, at most YIELD_MAX seconds, before it is computed. One view
of a queue with 100 callers costs about 1 ms; computed in the middle of 100 phones
starting to ring, it held up every pop behind it by that much (bench/bench_ws.py, rings
0.5 s after the join). Supervisors get it a few ms later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from callqueue.feed import QueueFeed
from callqueue.live import QueueProjection

from agent_console import views
from agent_console.hub import SUPERVISORS_ONLY, Hub
from cti.bus import EventBus
from cti.tasks import TaskSet
from tickets.events import CallbacksWaiting, SurveyAnswered
from tickets.sites import DEFAULT_SITE

QUEUE_EVERY = 0.25  # seconds: the most often a supervisor gets queue.updated
YIELD_MAX = 0.1  # seconds: the longest a dirty view waits for the pops (`after`)


class WallboardPush:
    def __init__(self, hub: Hub, projection: QueueProjection, clock: Callable[[], datetime],
                 mask_numbers: bool = False, every: float = QUEUE_EVERY, site: str = DEFAULT_SITE,
                 after: Callable[[], Awaitable[None]] | None = None) -> None:
        self.hub, self.projection, self.clock, self.site = hub, projection, clock, site  # the queues' site
        self.mask_numbers, self.every, self.after = mask_numbers, every, after
        self._dirty = asyncio.Event()
        self.callbacks: dict[str, CallbacksWaiting] = {}  # per queue, the latest
        self._tasks = TaskSet()

    def watch(self, feed: QueueFeed) -> None:
        """Push after every change the feed makes to the projection."""
        feed.on_change(self._dirty.set)

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(SurveyAnswered, self._survey)
        bus.subscribe(CallbacksWaiting, self._callbacks)

    async def _callbacks(self, event: CallbacksWaiting) -> None:
        if self.callbacks.get(event.queue) != event:  # every round repeats it: push changes only
            self.callbacks[event.queue] = event
            self._dirty.set()

    def _view(self, name: str, now: datetime) -> dict[str, Any]:
        data = views.queue_json(self.projection.view(name, now), now, self.mask_numbers)
        data["callbacks"] = self.callbacks.get(name, CallbacksWaiting(name, 0, None)).json()
        return data

    async def _survey(self, event: SurveyAnswered) -> None:
        self.hub.publish("survey.answered", event.json(), SUPERVISORS_ONLY)

    def start(self) -> None:
        self._tasks.spawn(self._run(), "queue-updates")

    async def close(self) -> None:
        await self._tasks.stop()

    def views(self) -> list[dict[str, Any]]:
        now, projection = self.clock(), self.projection
        out = []
        for name in sorted(projection.queues):
            data = self._view(name, now)
            data["series"] = [views.sample_json(s) for s in projection.series(name)]
            data["site"] = self.site
            out.append(data)
        return out

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            if self.after is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.after(), YIELD_MAX)
            self._dirty.clear()
            now, projection = self.clock(), self.projection
            for name in sorted(projection.queues):
                data = self._view(name, now)
                series = projection.series(name)
                data["sample"] = views.sample_json(series[-1]) if series else None
                data["site"] = self.site
                self.hub.publish("queue.updated", data, SUPERVISORS_ONLY, replaces=f"queue.updated {name}")
            await asyncio.sleep(self.every)
