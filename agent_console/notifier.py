"""PopNotifier: call, agent and ticket events -> the console's WebSocket messages.

Layer: I/O shell (bus in, hub out). The bus handlers only enqueue; one named
task works the queue in order, so the AMI reader is never held up by a database
lookup and a pop is never overtaken by its own withdrawal. A call that has to wait
(its ring for the match, its answer for the history, both bounded below) is parked:
what comes for that call meanwhile queues behind it, in order, and every other call
goes on (agent_console.work_queue); a ticket edit waits the same way for its parties
(agent_console.edit_audience), a callback's ring for its match (agent_console.callback_pops). The pop comes in two
phases, both started on worker threads when the caller joins the queue
(agent_console.pop_lookups): the match (one lookup; the ring waits for it at most
MATCH_WAIT after the join, though it is usually done by then) and the history (open
tickets, recent calls), which the ring never waits for: what was not done in time
follows as `call.enriched`, through this same queue, so to one agent the order
stays ringing -> (enriched) -> answered | withdrawn.
While the queue holds a backlog (100 phones starting to ring at once), `agent.state`
waits until it is worked off: every pop of the burst goes out first, then the agents'
states, all of them and in order. A state written to each agent's and every
supervisor's socket between two pops would hold the next pop up by that many socket
writes; seconds_in_state is reckoned when the state goes out, so it is never stale.
Worked off means quiet for STATES_SETTLE: a burst's AgentCalled frames (about 780 bytes
each, 78 KB for 100 phones) come in more than one read, and states written when the
first read's pops were done held the second read's pops up by all those writes (2-12
ms in bench_ws, the whole difference between a burst's usual and its worst ring).
A backlog that never clears (more events than the notifier can work) holds no state
longer than HOLD_STATES_FOR.
The supervisors' queue view is not made here: agent_console.wallboard pushes it
from callqueue.feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent_console import views
from agent_console.callback_pops import CallbackPops, CallbackReady
from agent_console.edit_audience import Audienced, audience_of, read_parties
from agent_console.hub import SUPERVISORS_ONLY, Audience, Hub, agents
from agent_console.pop_lookups import HistoryReady, Lookups, MatchReady, PopLookups, unavailable
from agent_console.pops import (
    PopBook,
    PopEnricher,
    for_viewer,
    shown,
    viewer_of,
)
from agent_console.work_queue import Wait, WorkQueue
from cti import events as ev
from cti.bus import EventBus
from cti.tasks import TaskSet
from tickets.events import TicketCreated, TicketUpdated
from tickets.sites import DEFAULT_SITE
from tickets.visibility import Parties

log = logging.getLogger(__name__)
_GONE = {ev.CallChange.ANSWERED, ev.CallChange.LEFT_QUEUE, ev.CallChange.ENDED,
         ev.CallChange.AFTER_HOURS, ev.CallChange.TRANSFERRED, ev.CallChange.OVERFLOWED}
CLOSE_WAIT = 2.0  # seconds the notifier finishes its queue for when the app stops
ANSWER_WAITS_FOR_HISTORY = 1.0  # seconds; the history is ms of queries, this bounds a stuck database
# seconds after the caller joined (when the match was asked for) that a ring waits for it;
# later it rings with a "pending" match, and the match follows as call.enriched: a slow or
# stuck database delays no pop by more than this, and one slow match holds up no other ring
MATCH_WAIT = 0.5
HOLD_STATES_FOR = 0.05  # seconds agent.state waits behind a burst's pops at most
STATES_SETTLE = 0.002  # seconds the queue stays empty before held states go (the rest of a burst)

Item = (ev.CallUpdated | ev.AgentUpdated | TicketCreated | TicketUpdated | HistoryReady | MatchReady
        | ev.CallbackRinging | CallbackReady | ev.CallbackDialed | Audienced)


def _key_of(item: Item) -> str | None:
    """What an item is about, for parking: its call's linkedid, `ticket:<id>` for a ticket
    edit (None: an agent's state; a callback's items: agent_console.callback_pops)."""
    if isinstance(item, ev.CallUpdated):
        return item.call.linkedid
    if isinstance(item, HistoryReady | MatchReady | TicketCreated):
        return item.linkedid
    if isinstance(item, TicketUpdated):
        return f"ticket:{item.id}"
    return None


def _failed(item: object) -> None:
    log.exception("notifier failed on %s", type(item).__name__)


def _pending(number: str | None) -> dict[str, Any]:
    return {"status": "pending", "number": number, "contact": None, "candidates": []}


class PopNotifier:
    def __init__(self, hub: Hub, enricher: PopEnricher, clock: Callable[[], datetime],
                 parties: Callable[[int], Parties | None] | None = None, site: str = DEFAULT_SITE) -> None:
        """`parties`: a ticket's parties (sync, run on a worker thread); without it
        `ticket.updated` goes to supervisors only. `site`: the site whose bridge this
        instance follows; every call.* message says it (Linkedids are per site)."""
        self.hub, self.enricher, self.clock, self.site = hub, enricher, clock, site
        self._parties = parties
        self.book = PopBook()
        self._inbox: WorkQueue[Item] = WorkQueue(self._handle, self._key_of, self._wait_of, self._after_each,
                                                 _failed, "notifier")
        self.lookups = PopLookups(enricher, self._inbox.put_nowait)  # the pops' customer data, both phases
        self._settled: set[str] = set()  # linkedids past ringing: no call.enriched any more
        self._tasks = TaskSet()
        self.callbacks = CallbackPops(self.book, self.lookups, self._call_message, self._match_in_time, clock,
                                      lambda: MATCH_WAIT)
        self._states: list[ev.AgentSnapshot] = []  # agent.state held back while the inbox has a backlog
        self._states_since = 0.0  # loop time the oldest of them was held back
        self._states_timer: asyncio.TimerHandle | None = None  # publishes them once settled or due
        self._states_out = asyncio.Event()  # set while none are held
        self._states_out.set()

    def talking_for(self, endpoint: str | None) -> dict[str, Any] | None:
        return self.callbacks.talking_for(endpoint)

    def subscribe(self, bus: EventBus) -> None:
        # TicketUpdated: an edit, from this instance's API or (scaled out) a peer's
        for kind in (ev.CallUpdated, ev.AgentUpdated, TicketCreated, TicketUpdated, ev.CallbackRinging,
                     ev.CallbackDialed):
            bus.subscribe(kind, self._inbox.put_nowait)

    def start(self) -> None:
        self._inbox.start()

    async def close(self) -> None:
        """Finish what is queued first (at most CLOSE_WAIT s): a database lookup cut off
        mid-way would leave its worker thread holding a connection of a closed pool."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), CLOSE_WAIT)
        await self._inbox.stop()
        await self._tasks.stop()
        if self._states_timer is not None:
            self._states_timer.cancel()
        await self.lookups.close()

    async def drain(self) -> None:
        """Wait until everything published so far has been handled (a parked call too),
        the agents' states it held back out as well."""
        await self._inbox.drain()
        if self._states:
            self._publish_states()

    async def caught_up(self) -> None:
        """Until the pops and call messages published so far are out, parked calls aside
        (they wait for a lookup, not for the loop)."""
        await self._inbox.caught_up()

    async def quiet(self) -> None:
        """caught_up, and the agents' states held back are out too (they wait for the rest
        of a burst): what the wallboard lets go first. Built between a burst's two reads,
        the queue view (every caller waiting, every agent) held the second read's pops up."""
        await self._inbox.caught_up()
        await self._states_out.wait()

    def _call_message(self, type_: str, data: dict[str, Any], audience: Audience) -> None:
        self.hub.publish(type_, {**data, "site": self.site}, audience)

    def _pop_message(self, type_: str, data: dict[str, Any], audience: Audience) -> None:
        """call.ringing / call.enriched: each agent gets the caller's past as they may see it."""
        parties = self.book.parties.get(data["linkedid"], {})
        self.hub.publish(type_, {**data, "site": self.site}, audience,
                         lambda client, d: for_viewer(d, viewer_of(client, self.site), parties))

    def _after_each(self) -> None:
        """Agent states go out once the queue has been empty for STATES_SETTLE with no pop
        parked, or when the oldest has waited HOLD_STATES_FOR (a timer either way; items
        that come meanwhile are worked first and look again when the queue is empty)."""
        if not self._states:
            return
        if self._states_due():
            self._publish_states()
        elif self._inbox.empty() and self._states_timer is None:
            self._states_timer = asyncio.get_running_loop().call_later(self._states_wait(), self._states_settled)

    def _states_wait(self) -> float:
        due = self._states_since + HOLD_STATES_FOR - asyncio.get_running_loop().time()
        return max(0.0, due if self._inbox.parked else min(STATES_SETTLE, due))

    def _states_settled(self) -> None:
        self._states_timer = None
        if not self._states or not self._inbox.empty():
            return  # published already, or more came: the next _after_each looks again
        if self._states_due() or not self._inbox.parked:
            self._publish_states()
        else:  # only parked pops hold them: until HOLD_STATES_FOR
            self._states_timer = asyncio.get_running_loop().call_later(self._states_wait(), self._states_settled)

    def _key_of(self, item: Item) -> str | None:
        return _key_of(item) or self.callbacks.key_of(item)

    def _wait_of(self, item: Item) -> Wait[Item] | None:
        """(the item to handle when the wait is over, what it waits for, how long at most), or None."""
        if isinstance(item, ev.CallUpdated):
            wait = self._waits_for(item)
            return None if wait is None else (item, *wait)
        if isinstance(item, TicketUpdated) and self._parties is not None:
            return read_parties(item, self._parties, self._tasks)
        if isinstance(item, ev.CallbackRinging):
            return self.callbacks.wait_of(item)
        return None

    def _waits_for(self, u: ev.CallUpdated) -> tuple[asyncio.Future[Any], float] | None:
        """What handling `u` would wait for, and how long at most: a ring that needs the
        match (until MATCH_WAIT after it was asked for), an answer that gets the history
        first (ANSWER_WAITS_FOR_HISTORY). None: it can go now."""
        call, lid = u.call, u.call.linkedid
        if u.change in _GONE:
            found = self.lookups.get(lid)
            if (u.change == ev.CallChange.ANSWERED and found is not None and lid not in self._settled
                    and not found.history.done()):
                return found.history, ANSWER_WAITS_FOR_HISTORY
            return None
        popped = self.book.popped.get(lid, set())
        if lid in self.book.pops or all(a in popped for a in call.ringing_agents):
            return None
        lookups = self.lookups.prefetch(lid, call.caller_raw)
        left = lookups.asked + MATCH_WAIT - asyncio.get_running_loop().time()
        return (lookups.match, left) if not lookups.match.done() and left > 0 else None

    def _states_due(self) -> bool:
        return asyncio.get_running_loop().time() - self._states_since >= HOLD_STATES_FOR

    def _publish_states(self) -> None:
        if self._states_timer is not None:
            self._states_timer.cancel()
            self._states_timer = None
        states, self._states = self._states, []
        self._states_out.set()
        now = self.clock()
        for agent in states:
            try:
                self.hub.publish("agent.state", views.agent_json(agent, now), agents(agent.agent, supervisors=True))
            except Exception:
                log.exception("agent.state of %s not published", agent.agent)

    async def _handle(self, item: Item) -> None:
        if isinstance(item, ev.CallUpdated):
            await self._on_call(item)
        elif isinstance(item, HistoryReady):
            self._enrich(item.linkedid)
        elif isinstance(item, MatchReady):
            self._late_match(item.linkedid)
        elif isinstance(item, ev.CallbackRinging | CallbackReady):
            await self.callbacks.ringing(item)
        elif isinstance(item, ev.CallbackDialed):
            self.callbacks.dialed(item)
        elif isinstance(item, ev.AgentUpdated):
            self.callbacks.agent(item.agent)
            if not self._states:
                self._states_since = asyncio.get_running_loop().time()
            self._states.append(item.agent)  # out once the inbox is empty: at once, unless a burst is queued
            self._states_out.clear()
        elif isinstance(item, TicketCreated):
            if self.book.ticket_for(item.linkedid) == item.ticket_id:
                return  # told again by a state reply (scaled out): the consoles have it
            self.book.set_ticket(item.linkedid, item.ticket_id)
            data = {"site": item.site, "linkedid": item.linkedid, "ticket_id": item.ticket_id,
                    "number": item.ticket_number, "contact_id": item.contact_id}
            self.hub.publish("ticket.created", data,
                             agents(*([item.agent] if item.agent and item.site == self.site else []), supervisors=True))
        elif isinstance(item, Audienced):
            self.hub.publish("ticket.updated", item.update.json(), audience_of(item, self.site))
        elif isinstance(item, TicketUpdated):  # no parties to read: supervisors only
            self.hub.publish("ticket.updated", item.json(), SUPERVISORS_ONLY)

    # --- the two phases -------------------------------------------------------------
    def _late_match(self, linkedid: str) -> None:
        """A match that missed its ring: to the agents whose phone still rings (or who just
        answered) as call.enriched, with whatever of the history the pop has so far."""
        pop = self.book.pops.get(linkedid)
        if pop is None or pop["match"].get("status") != "pending" or linkedid in self._settled:
            return
        match = self.lookups.match_now(linkedid, pop["caller"]["number"])
        if match is None:
            return
        pop["match"] = match
        to = self.book.popped.get(linkedid, set())
        if to:
            self._pop_message("call.enriched", {"linkedid": linkedid, "match": match, **shown(pop)}, agents(*to))

    def _enrich(self, linkedid: str) -> None:
        """Phase two for the agents whose phone still rings (or who just answered)."""
        pop, history = self.book.pops.get(linkedid), self.lookups.history_now(linkedid)
        if pop is None or history is None or pop["enriched"] or linkedid in self._settled:
            return  # not rung yet (the ring will carry it), already carried, or over
        if pop["match"].get("status") == "pending":
            pop["match"] = self.lookups.match_now(linkedid, pop["caller"]["number"]) or pop["match"]
        self.book.set_history(linkedid, history)
        to = self.book.popped.get(linkedid, set())
        if to:
            self._pop_message("call.enriched", {"linkedid": linkedid, "match": pop["match"], **shown(history)},
                              agents(*to))

    def _settle(self, linkedid: str, answered: bool) -> None:
        """The call stops ringing: the answering agent gets the history first if it is
        only moments away (the answer was parked until then, `_waits_for`); after this
        no `call.enriched` goes out for the call."""
        found = self.lookups.get(linkedid)
        if answered and found is not None and linkedid not in self._settled:
            self._late_match(linkedid)  # the history failed or is late, the match is here
            self._enrich(linkedid)
        self._settled.add(linkedid)

    # --- calls ------------------------------------------------------------------------
    async def _on_call(self, u: ev.CallUpdated) -> None:
        call, lid = u.call, u.call.linkedid
        if u.change in (ev.CallChange.JOINED, ev.CallChange.RESYNCED) and call.ended_at is None:
            self.lookups.prefetch(lid, call.caller_raw)
        popped = self.book.popped.setdefault(lid, set())
        fresh = [a for a in call.ringing_agents if a not in popped]
        if fresh and u.change not in _GONE:
            pop = await self._pop(call)
            popped.update(fresh)
            self._pop_message("call.ringing", dict(pop), agents(*fresh))
        stopped = set(u.withdrawn_from) | (popped - set(call.ringing_agents))
        if u.change in _GONE:
            stopped = set(popped)
        stopped.discard(call.agent or "")
        if stopped & popped:
            reason = ("answered_elsewhere" if call.answered_at else
                      "caller_left" if u.change in _GONE else "no_answer")
            self._call_message("call.withdrawn", {"linkedid": lid, "reason": reason},
                             agents(*(stopped & popped)))
            popped -= stopped
        if u.change in _GONE:
            self._settle(lid, answered=u.change == ev.CallChange.ANSWERED)
        self._publish_call(u)

    def _publish_call(self, u: ev.CallUpdated) -> None:
        call, lid = u.call, u.call.linkedid
        who = agents(*([call.agent] if call.agent else []), supervisors=True)
        if u.change == ev.CallChange.ANSWERED:
            self._call_message("call.answered", {**views.call_json(call), "ticket_id": self.book.ticket_for(lid)}, who)
        elif u.change == ev.CallChange.ENDED:
            self._call_message("call.ended", views.call_json(call), who)
            self.book.forget(lid)
            self._settled.discard(lid)
            self.lookups.drop(lid)

    async def _pop(self, call: ev.CallSnapshot) -> dict[str, Any]:
        pop = self.book.pops.get(call.linkedid)
        if pop is None:
            lookups = self.lookups.prefetch(call.linkedid, call.caller_raw)
            match = await self._match_in_time(call.linkedid, lookups, call.caller_number)
            pop = {"linkedid": call.linkedid, "queue": call.queue,
                   "caller": views.caller_json(call.caller_number, call.caller_raw, call.caller_name),
                   "match": match, "open_tickets": [], "recent_calls": [], "callbacks": [], "enriched": False,
                   "ticket_id": None, "entered_at": views.iso(call.entered_at),
                   "route": views.route_json(call.route)}
            self.book.pops[call.linkedid] = pop
            history = self.lookups.history_now(call.linkedid)
            if history is not None:  # usually: the caller waited in the queue meanwhile
                self.book.set_history(call.linkedid, history)
        now = self.clock()
        wait = (now - call.entered_at).total_seconds() if call.entered_at else 0.0
        pop.update(wait_seconds=wait, position=call.position)
        return pop

    async def _match_in_time(self, linkedid: str, lookups: Lookups, number: str | None) -> dict[str, Any]:
        """The call's match, waited for until MATCH_WAIT after it was asked for; slow:
        "pending" now (the match follows as call.enriched), failed: unavailable."""
        left = lookups.asked + MATCH_WAIT - asyncio.get_running_loop().time()
        if not lookups.match.done() and left > 0:
            await asyncio.wait({lookups.match}, timeout=left)
        if not lookups.match.done():
            log.warning("customer lookup for %s not done %.2f s after it was asked for; ringing without it",
                        linkedid, MATCH_WAIT)
            self.lookups.late(linkedid)
            return _pending(number)
        if lookups.match.cancelled() or lookups.match.exception() is not None:
            log.error("customer lookup for %s failed (%r); popping without it", linkedid,
                      None if lookups.match.cancelled() else lookups.match.exception())
            return unavailable(number)
        return lookups.match.result()
