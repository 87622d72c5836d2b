"""The pops of callback calls: hotline rings the agent's phone first (an Originate, no
queue), so the dispatcher's CallbackRinging is what pops, with the `callback` marker.

Layer: I/O shell helper for agent_console.notifier (its queue calls these; hub out
through the notifier's `message`). A callback's ring waits for its caller's match as a
queue call's ring does (at most MATCH_WAIT, then "pending" and call.enriched later),
but parked in the notifier's queue (agent_console.work_queue), not in its task: until
2026-12-04 every pop queued behind a callback's ring waited for that lookup too. What
comes for the callback meanwhile (its CallbackDialed, the rung agent's states) queues
behind it, so the agent's phone seen busy and free again still withdraws the pop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_console.hub import Audience, agents
from agent_console.pop_lookups import Lookups, PopLookups
from agent_console.pops import PopBook, callback_call, callback_linkedid, callback_pop
from cti import events as ev

Message = Callable[[str, dict[str, Any], Audience], None]
MatchInTime = Callable[[str, Lookups, str | None], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class CallbackReady:
    """A callback's ring whose wait for its match is over (its lookups are started)."""

    ringing: ev.CallbackRinging


class CallbackPops:
    def __init__(self, book: PopBook, lookups: PopLookups, message: Message, match_in_time: MatchInTime,
                 clock: Callable[[], datetime], match_wait: Callable[[], float]) -> None:
        self.book, self.lookups, self._message, self._match_in_time = book, lookups, message, match_in_time
        self.clock, self._match_wait = clock, match_wait
        self._out: dict[str, tuple[str, bool]] = {}  # agent -> (callback pop out, phone seen busy)
        self._talking: dict[str, dict[str, Any]] = {}  # agent -> the answered callback call they are on
        self._waiting: dict[str, str] = {}  # agent -> the callback whose ring is parked for its match

    def talking_for(self, endpoint: str | None) -> dict[str, Any] | None:
        """The answered callback the agent at `endpoint` is on (a reloaded console's
        current call: the registry knows no queue call for it)."""
        return self._talking.get(endpoint) if endpoint else None

    def key_of(self, item: object) -> str | None:
        """The parking key of a callback's items, and of the states of an agent whose
        callback ring waits (they follow the pop, as they did when the ring waited inline)."""
        if isinstance(item, ev.CallbackRinging | ev.CallbackDialed):
            return callback_linkedid(item.callback_id)
        if isinstance(item, CallbackReady):
            return callback_linkedid(item.ringing.callback_id)
        if isinstance(item, ev.AgentUpdated):
            return self._waiting.get(item.agent.agent)
        return None

    def wait_of(self, e: ev.CallbackRinging) -> tuple[CallbackReady, asyncio.Future[Any], float]:
        """Start the ring's lookups and park it until its match is there, at most MATCH_WAIT."""
        lookups = self._start(e)
        self._waiting[e.agent] = callback_linkedid(e.callback_id)
        left = lookups.asked + self._match_wait() - asyncio.get_running_loop().time()
        return CallbackReady(e), lookups.match, max(0.0, left)

    def _start(self, e: ev.CallbackRinging) -> Lookups:
        """The ring's lookups, started afresh (a callback rung again is looked up anew)."""
        lid = callback_linkedid(e.callback_id)
        self.lookups.drop(lid)
        return self.lookups.prefetch(lid, e.caller_raw or e.caller_number, e.callback_id)

    async def ringing(self, item: ev.CallbackRinging | CallbackReady) -> None:
        """The agent's phone rings for a callback: the pop (a CallbackRinging not parked,
        because its wait could not be set up, waits for its match here)."""
        e = item.ringing if isinstance(item, CallbackReady) else item
        lid = callback_linkedid(e.callback_id)
        if self._waiting.get(e.agent) == lid:
            del self._waiting[e.agent]
        lookups = self.lookups.get(lid) if isinstance(item, CallbackReady) else None
        if lookups is None:
            lookups = self._start(e)
        match = await self._match_in_time(lid, lookups, e.caller_number)
        pop = callback_pop(e, match)
        self.book.pops[lid] = pop
        self.book.popped[lid] = {e.agent}
        self._out[e.agent] = (lid, False)
        self._message("call.ringing", pop, agents(e.agent))
        if match.get("error"):
            self.lookups.drop(lid)  # as for a queue call's pop: no history asked of a database that just failed
        # otherwise the caller's open tickets, recent calls and other callback items
        # follow as call.enriched, as for a queue call's pop

    def dialed(self, e: ev.CallbackDialed) -> None:
        """The caller answered: call.answered (the console shows the conversation and opens
        the ticket; call.ended follows when the agent's phone is free again); not reached:
        withdrawn."""
        lid = callback_linkedid(e.callback_id)
        pop = self.book.pops.get(lid)
        if e.dial_status == "ANSWER" and pop is not None:
            for agent in self.book.popped.get(lid, set()):
                self._talking[agent] = callback_call(pop, agent, e.at)
                self._message("call.answered", self._talking[agent], agents(agent))
        self._over(lid, None if e.dial_status == "ANSWER" else "callback_not_reached")

    def agent(self, agent: ev.AgentSnapshot) -> None:
        """The agent did not answer the callback's ring (no HotlineCallbackResult comes then):
        the phone was busy (ringing) and is free again, or the agent paused or left.
        The agent of an answered callback whose phone is no longer busy: call.ended."""
        talking = self._talking.get(agent.agent)
        if talking is not None and agent.state not in (ev.AgentState.ON_CALL, ev.AgentState.RINGING):
            del self._talking[agent.agent]
            self._message("call.ended", {**talking, "ended_at": self.clock().isoformat()}, agents(agent.agent))
        out = self._out.get(agent.agent)
        if out is None:
            return
        lid, busy = out
        if agent.state in (ev.AgentState.ON_CALL, ev.AgentState.RINGING):
            self._out[agent.agent] = (lid, True)
        elif busy or agent.state in (ev.AgentState.PAUSED, ev.AgentState.LOGGED_OUT, ev.AgentState.UNAVAILABLE):
            self._over(lid, "no_answer")

    def _over(self, lid: str, reason: str | None) -> None:
        to = self.book.popped.get(lid, set())
        if to and reason is not None:
            self._message("call.withdrawn", {"linkedid": lid, "reason": reason}, agents(*to))
        for agent in to:
            self._out.pop(agent, None)
        self.book.forget(lid)
        self.lookups.drop(lid)
