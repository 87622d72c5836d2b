"""PopNotifier: call, agent and ticket events -> the console's WebSocket messages.

Layer: I/O shell (bus in, hub out). The bus handlers only enqueue; one named
task works the queue in order, so the AMI reader is never held up by a database
lookup and a pop is never overtaken by its own withdrawal. The customer lookup
for a pop starts on a worker thread when the caller joins the queue, so it is
(usually) done when a phone rings. The supervisors' queue view is not made
here: agent_console.wallboard pushes it from callqueue.feed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent_console import views
from agent_console.hub import ALL, Hub, agents
from agent_console.pops import PopBook, PopEnricher
from cti import events as ev
from cti.bus import EventBus
from cti.tasks import TaskSet
from tickets.events import TicketCreated, TicketUpdated

log = logging.getLogger(__name__)
_GONE = {ev.CallChange.ANSWERED, ev.CallChange.LEFT_QUEUE, ev.CallChange.ENDED,
         ev.CallChange.AFTER_HOURS, ev.CallChange.TRANSFERRED}
Item = ev.CallUpdated | ev.AgentUpdated | TicketCreated | TicketUpdated


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


class PopNotifier:
    def __init__(self, hub: Hub, enricher: PopEnricher, clock: Callable[[], datetime]) -> None:
        self.hub, self.enricher, self.clock = hub, enricher, clock
        self.book = PopBook()
        self._inbox: asyncio.Queue[Item] = asyncio.Queue()
        self._lookups: dict[str, asyncio.Task[dict[str, Any]]] = {}  # linkedid -> the pop's customer data
        self._tasks = TaskSet()

    def subscribe(self, bus: EventBus) -> None:
        # TicketUpdated: an edit, from this instance's API or (scaled out) a peer's
        for kind in (ev.CallUpdated, ev.AgentUpdated, TicketCreated, TicketUpdated):
            bus.subscribe(kind, self._inbox.put_nowait)

    def start(self) -> None:
        self._tasks.spawn(self._run(), "notifier")

    async def close(self) -> None:
        await self._tasks.stop()

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

    async def _handle(self, item: Item) -> None:
        if isinstance(item, ev.CallUpdated):
            await self._on_call(item)
        elif isinstance(item, ev.AgentUpdated):
            self.hub.publish("agent.state", views.agent_json(item.agent, self.clock()),
                             agents(item.agent.agent, supervisors=True))
        elif isinstance(item, TicketCreated):
            self.book.set_ticket(item.linkedid, item.ticket_id)
            data = {"linkedid": item.linkedid, "ticket_id": item.ticket_id,
                    "number": item.ticket_number, "contact_id": item.contact_id}
            self.hub.publish("ticket.created", data,
                             agents(*([item.agent] if item.agent else []), supervisors=True))
        else:
            self.hub.publish("ticket.updated", item.json(), ALL)

    def _prefetch(self, call: ev.CallSnapshot) -> asyncio.Task[dict[str, Any]]:
        found = self._lookups.get(call.linkedid)
        if found is None:
            found = self._tasks.spawn(asyncio.to_thread(self.enricher.enrich, call.caller_raw),
                                      f"pop-lookup-{call.linkedid}")
            found.add_done_callback(_retrieved)  # a pop nobody rang for still had its error looked at
            self._lookups[call.linkedid] = found
        return found

    async def _on_call(self, u: ev.CallUpdated) -> None:
        call, lid = u.call, u.call.linkedid
        if u.change in (ev.CallChange.JOINED, ev.CallChange.RESYNCED) and call.ended_at is None:
            self._prefetch(call)
        popped = self.book.popped.setdefault(lid, set())
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
            self.hub.publish("call.answered", {**views.call_json(call), "ticket_id": self.book.ticket_for(lid)}, who)
        elif u.change == ev.CallChange.ENDED:
            self.hub.publish("call.ended", views.call_json(call), who)
            self.book.forget(lid)
            lookup = self._lookups.pop(lid, None)
            if lookup is not None and not lookup.done():
                lookup.cancel()

    async def _pop(self, call: ev.CallSnapshot) -> dict[str, Any]:
        pop = self.book.pops.get(call.linkedid)
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
            self.book.pops[call.linkedid] = pop
        now = self.clock()
        wait = (now - call.entered_at).total_seconds() if call.entered_at else 0.0
        pop.update(wait_seconds=wait, position=call.position)
        return pop
