"""Notifier: registry updates and ticket events -> WebSocket messages.

Layer: I/O shell. The bus handlers only enqueue; one named task works the
queue in order, so the AMI reader is never held up by a database lookup and a
pop is never overtaken by its own withdrawal. Queue views for supervisors are
coalesced (at most one `queue.updated` per `QUEUE_EVERY` seconds per burst).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from callqueue.live import QueueProjection

from agent_console import views
from agent_console.hub import ALL, SUPERVISORS_ONLY, Hub, agents
from agent_console.pops import PopEnricher
from cti import events as ev
from cti.bus import EventBus
from tickets.events import TicketCreated, TicketUpdated

log = logging.getLogger(__name__)
QUEUE_EVERY = 0.25
_GONE = {ev.CallChange.ANSWERED, ev.CallChange.LEFT_QUEUE, ev.CallChange.ENDED,
         ev.CallChange.AFTER_HOURS, ev.CallChange.TRANSFERRED}


class Notifier:
    def __init__(self, hub: Hub, projection: QueueProjection, enricher: PopEnricher,
                 clock: Callable[[], datetime], mask_numbers: bool = False) -> None:
        self.hub, self.projection, self.enricher, self.clock = hub, projection, enricher, clock
        self.mask_numbers = mask_numbers
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self.pops: dict[str, dict[str, Any]] = {}  # linkedid -> pop data (while ringing)
        self._popped: dict[str, set[str]] = {}  # linkedid -> endpoints that got the pop
        self.channels: dict[str, str] = {}  # linkedid -> caller channel
        # the pop's customer lookup starts when the caller joins the queue, so it is
        # (usually) done when a phone rings; lookups of different calls run in parallel
        self._lookups: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._queue_dirty = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, bus: EventBus) -> None:
        for kind in (ev.CallUpdated, ev.AgentUpdated, TicketCreated, ev.CallerJoinedQueue,
                     ev.QueueWrapUpTime):
            bus.subscribe(kind, self._inbox.put_nowait)
        bus.subscribe(TicketUpdated, self._inbox.put_nowait)  # an edit, from this instance's API or a peer's

    def start(self) -> None:
        for name, coro in (("notifier", self._run()), ("queue-updates", self._queues())):
            task = asyncio.get_running_loop().create_task(coro, name=name)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until everything published so far has been handled."""
        await self._inbox.join()

    async def _run(self) -> None:
        while True:
            item = await self._inbox.get()
            try:
                await self._handle(item)
            except Exception:
                log.exception("notifier failed on %s", type(item).__name__)
            finally:
                self._inbox.task_done()

    async def _handle(self, item: object) -> None:
        if isinstance(item, ev.CallerJoinedQueue):
            self.channels[item.linkedid] = item.channel
        elif isinstance(item, ev.CallUpdated):
            self.projection.apply(item, self.clock())
            await self._on_call(item)
            self._queue_dirty.set()
        elif isinstance(item, ev.AgentUpdated):
            self.projection.apply(item, self.clock())
            self.hub.publish("agent.state", views.agent_json(item.agent, self.clock()),
                             agents(item.agent.agent, supervisors=True))
            self._queue_dirty.set()
        elif isinstance(item, ev.QueueWrapUpTime):
            # AHT = talk + wrap-up: the queue's wrapuptime as Asterisk has it (0 if unknown)
            self.projection.wrapup_seconds = float(item.seconds or 0)
            self._queue_dirty.set()
        elif isinstance(item, TicketCreated):
            data = {"linkedid": item.linkedid, "ticket_id": item.ticket_id,
                    "number": item.ticket_number, "contact_id": item.contact_id}
            if item.linkedid in self.pops:
                self.pops[item.linkedid]["ticket_id"] = item.ticket_id
            self.hub.publish("ticket.created", data,
                             agents(*([item.agent] if item.agent else []), supervisors=True))
        elif isinstance(item, TicketUpdated):
            self.hub.publish("ticket.updated", item.json(), ALL)

    def _prefetch(self, call: ev.CallSnapshot) -> asyncio.Future[dict[str, Any]]:
        found = self._lookups.get(call.linkedid)
        if found is None:
            found = asyncio.ensure_future(asyncio.to_thread(self.enricher.enrich, call.caller_raw))
            self._lookups[call.linkedid] = found
        return found

    async def _on_call(self, u: ev.CallUpdated) -> None:
        call, lid = u.call, u.call.linkedid
        if u.change in (ev.CallChange.JOINED, ev.CallChange.RESYNCED) and call.ended_at is None:
            self._prefetch(call)
        popped = self._popped.setdefault(lid, set())
        fresh = [a for a in call.ringing_agents if a not in popped]
        if fresh and u.change not in _GONE:
            pop = await self._pop(call)
            popped.update(fresh)
            self.hub.publish("call.ringing", pop, agents(*fresh))
        stopped = set(u.withdrawn_from) | (popped - set(call.ringing_agents))
        if u.change in _GONE:
            stopped = set(popped)
        stopped.discard(call.agent or "")
        if stopped & popped:
            reason = ("answered_elsewhere" if call.answered_at else
                      "caller_left" if u.change in _GONE else "no_answer")
            self.hub.publish("call.withdrawn", {"linkedid": lid, "reason": reason},
                             agents(*(stopped & popped)))
            popped -= stopped
        self._publish_call(u)

    def _publish_call(self, u: ev.CallUpdated) -> None:
        call, lid = u.call, u.call.linkedid
        who = agents(*([call.agent] if call.agent else []), supervisors=True)
        if u.change == ev.CallChange.ANSWERED:
            data = {**views.call_json(call), "ticket_id": self.pops.get(lid, {}).get("ticket_id")}
            self.hub.publish("call.answered", data, who)
        elif u.change == ev.CallChange.ENDED:
            self.hub.publish("call.ended", views.call_json(call), who)
            self.pops.pop(lid, None)
            self._popped.pop(lid, None)
            self.channels.pop(lid, None)
            lookup = self._lookups.pop(lid, None)
            if lookup is not None and not lookup.done():
                lookup.cancel()

    async def _pop(self, call: ev.CallSnapshot) -> dict[str, Any]:
        pop = self.pops.get(call.linkedid)
        if pop is None:
            try:
                extra = await self._prefetch(call)
            except Exception:  # the database may be down: pop the caller anyway
                log.exception("customer lookup for %s failed; popping without it", call.linkedid)
                extra = {"match": {"status": "unknown", "number": call.caller_number, "contact": None,
                                   "candidates": [], "error": "customer lookup unavailable"},
                         "open_tickets": [], "recent_calls": []}
            pop = {"linkedid": call.linkedid, "queue": call.queue,
                   "caller": {"number": call.caller_number, "raw": call.caller_raw,
                              "name": call.caller_name},
                   **extra, "ticket_id": None, "entered_at": views.iso(call.entered_at)}
            self.pops[call.linkedid] = pop
        now = self.clock()
        wait = (now - call.entered_at).total_seconds() if call.entered_at else 0.0
        pop.update(wait_seconds=wait, position=call.position)
        return pop

    def ringing_for(self, endpoint: str | None) -> list[dict[str, Any]]:
        if not endpoint:
            return []
        return [self.pops[lid] for lid, eps in self._popped.items()
                if endpoint in eps and lid in self.pops]

    def queue_views(self) -> list[dict[str, Any]]:
        now = self.clock()
        out = []
        for name in sorted(self.projection.queues):
            data = views.queue_json(self.projection.view(name, now), now, self.mask_numbers)
            data["series"] = [views.sample_json(s) for s in self.projection.series(name)]
            out.append(data)
        return out

    async def _queues(self) -> None:
        while True:
            await self._queue_dirty.wait()
            self._queue_dirty.clear()
            now = self.clock()
            for name in sorted(self.projection.queues):
                view = self.projection.view(name, now)
                data = views.queue_json(view, now, self.mask_numbers)
                series = self.projection.series(name)
                data["sample"] = views.sample_json(series[-1]) if series else None
                self.hub.publish("queue.updated", data, SUPERVISORS_ONLY)
            await asyncio.sleep(QUEUE_EVERY)
