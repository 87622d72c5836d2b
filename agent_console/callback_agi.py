"""Position, expected wait and the callback: two FastAGI scripts and the dispatcher.

Layer: edge (a thin async shell). The decisions are callqueue.callbacks' (pure),
the forecast is the wallboard's own (callqueue.live.QueueProjection.forecast), the
places are stored by tickets.callback_places (on a small thread pool of its own).

- `wait` (before Queue()): callers ahead, the expected wait in minutes and the
  callback offer, as channel variables (no offer for a number hotline may not dial:
  withheld, or not on the dial allow-list). Late or failing: nothing (no announcement).
- `callback` (the caller pressed 1 while waiting): the virtual place, callback item
  and ticket are stored, the registry is told (the call ends as CALLBACK, not as an
  abandon), HOTLINE_CALLBACK=1. A withheld number, or one the dial allow-list does not
  reach, cannot be called back: 0, and the dialplan puts the caller back at their
  place. Late or failing: 0 as well.
- CallbackDispatcher: on every agent or call change (and every few seconds for
  retries) it asks `next_dispatch` and originates agent first (cti.actions.
  callback_originate); HotlineCallbackResult (ev.CallbackDialed) settles the attempt,
  live from AMI or, when it came while hotline was not listening, from the same
  result's queue_log line (agent_console.jobs); a result older than the attempt being
  dialled (an earlier attempt's) settles nothing.
  A place whose number the dial allow-list does not reach (the list changed since the
  caller pressed 1) is never dialled: given up, the reason on its callback item.
  Places live in the database, so a restart picks them up where they were; a place
  left dialling by a crash goes back to waiting once its result is overdue.
Logs name the callback id or Linkedid, never the caller's number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

from callqueue import callbacks as cb
from callqueue.live import QueueProjection

from cti import events as ev
from cti.actions import callback_originate
from cti.agi import AgiRequest
from cti.agi_server import AgiScript, Variables
from cti.bus import EventBus
from cti.callerid import normalize
from cti.dial_allow import DialAllowList
from cti.tasks import TaskSet
from tickets.callback_places import CallbackPlaces
from tickets.events import CallbacksWaiting

log = logging.getLogger(__name__)
T = TypeVar("T")
Send = Callable[[str, dict[str, str]], Awaitable[object]]
Publish = Callable[[object], Awaitable[None]]
Note = Callable[[ev.DomainEvent], Awaitable[None]]
TICK_SECONDS = 5.0
RESULT_SLACK = timedelta(seconds=1)  # queue_log's whole seconds vs. the stored dialing start


def _linkedid(request: AgiRequest) -> str:
    return (request.args[0] if request.args else request.uniqueid)[:64]


def waiting(places: list[cb.VirtualPlace], queue: str) -> CallbacksWaiting:
    """The queue's callbacks not yet done, and when the oldest one's caller joined."""
    mine = [p.joined_at for p in places if p.queue == queue]
    return CallbacksWaiting(queue, len(mine), min(mine, default=None))


class CallbackScripts:
    """The `wait` and `callback` FastAGI scripts."""

    def __init__(self, places: CallbackPlaces, projection: QueueProjection, queue: str, region: str,
                 clock: Callable[[], datetime], note: Note, wake: Callable[[], None],
                 allow: DialAllowList) -> None:
        self.places, self.projection, self.queue, self.region = places, projection, queue, region
        self.clock, self.note, self.wake, self.allow = clock, note, wake, allow
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="agi-callback")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def wait(self, request: AgiRequest) -> Variables:
        forecast = self.projection.forecast(self.queue, self.clock(), _linkedid(request))
        said = cb.announcement(forecast)
        log.info("AGI wait for %s: %d ahead, expected %s s, at risk %s", _linkedid(request), forecast.ahead,
                 forecast.expected_remaining_seconds, forecast.at_risk)
        if said is None:
            return []
        offer = said.offer_callback and self._refusal(request) is None
        return [("HOTLINE_AHEAD", str(said.ahead)),
                ("HOTLINE_WAIT_MINUTES", str(said.minutes)),
                ("HOTLINE_OFFER", "1" if offer else "0")]

    def _refusal(self, request: AgiRequest) -> str | None:
        """Why this caller cannot be called back (no number; the dial allow-list), or None."""
        number = normalize(request.callerid, self.region).e164
        return "no number to call back" if number is None else self.allow.refusal(number)

    async def callback(self, request: AgiRequest) -> Variables:
        linkedid, now = _linkedid(request), self.clock()
        number = normalize(request.callerid, self.region).e164
        refused = "no call" if not linkedid else self._refusal(request)
        if refused is not None or number is None:
            log.info("AGI callback for %s: %s; back into the queue", linkedid, refused)
            return [("HOTLINE_CALLBACK", "0")]
        waiting = self.projection.waiting_caller(linkedid)
        joined = waiting.entered_at if waiting is not None else now
        loop = asyncio.get_running_loop()
        callback_id = await loop.run_in_executor(
            self._pool, self.places.request, linkedid, number, request.callerid[:64],
            request.calleridname[:200], self.queue, joined, now)
        await self.note(ev.CallbackRequested(at=now, linkedid=linkedid, callback_id=callback_id))
        log.info("AGI callback for %s: virtual place %d", linkedid, callback_id)
        self.wake()
        return [("HOTLINE_CALLBACK_ID", str(callback_id)), ("HOTLINE_CALLBACK", "1")]

    def scripts(self) -> dict[str, AgiScript]:
        return {"wait": AgiScript(self.wait, lambda request, reason: []),
                "callback": AgiScript(self.callback, lambda request, reason: [("HOTLINE_CALLBACK", "0")])}


_NEVER_MAKES_DUE = frozenset({ev.CallChange.JOINED, ev.CallChange.RINGING})


class CallbackDispatcher:
    def __init__(self, places: CallbackPlaces, projection: QueueProjection, queue: str,
                 clock: Callable[[], datetime], send: Send, connected: Callable[[], bool],
                 allow: DialAllowList, every: float = TICK_SECONDS, publish: Publish | None = None) -> None:
        self.places, self.projection, self.queue, self.clock = places, projection, queue, clock
        self.allow, self.publish = allow, publish  # the wallboard's CallbacksWaiting, the pop's CallbackRinging
        self.send, self.connected, self.every = send, connected, every
        self._wake = asyncio.Event()
        # no place waits or is dialled (as last read): an agent or a call changing can make
        # none due, so they wake no round (at 50 calls/s that was two reads a call for nothing).
        # Places are requested through this site's FastAGI, which wake()s; every `every` s a round reads anyway.
        self._none = False
        self._tasks = TaskSet()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="callback-places")  # one writer: in order

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ev.AgentUpdated, self._agent_changed)
        bus.subscribe(ev.CallUpdated, self._call_changed)
        bus.subscribe(ev.CallbackDialed, self.settle)

    def wake(self) -> None:
        """A place was requested (or may have changed): a round now, which reads the places."""
        self._none = False
        self._wake.set()

    def _agent_changed(self, event: ev.AgentUpdated) -> None:
        """Only a free agent can take a callback: a ring, a call, wrap-up or a pause
        makes none due (and 100 phones ringing at once would wake a round for each)."""
        if event.agent.state is ev.AgentState.AVAILABLE and not self._none:
            self._wake.set()

    def _call_changed(self, event: ev.CallUpdated) -> None:
        """A caller leaving the waiting line may put a callback first; a caller joining
        (behind the callback) or a phone ringing for one cannot."""
        if event.change not in _NEVER_MAKES_DUE and not self._none:
            self._wake.set()

    def start(self) -> None:
        self._tasks.spawn(self._run(), "callback-dispatcher")

    async def close(self) -> None:
        await self._tasks.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _db(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the database or AMI for a moment: try again on the next tick
                log.exception("callback dispatcher")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.every)
            self._wake.clear()

    async def tick(self) -> None:
        """One round: overdue attempts back to waiting, then at most one callback per free agent."""
        now = self.clock()
        places = await self._db(self.places.active)
        self._none = not places
        if self.publish is not None:
            await self.publish(waiting(places, self.queue))
        for late in cb.overdue(places, now):
            log.warning("callback %d: no result from %s in time; waiting again", late.callback_id, late.agent)
            await self._db(self.places.save, cb.after_attempt(late, None, now))
        if not self.connected():
            return
        while True:
            places = await self._db(self.places.active)
            self._none = not places
            view = self.projection.view(self.queue, now)
            free = [a.agent.agent for a in view.agents if a.agent.state is ev.AgentState.AVAILABLE]
            chosen = cb.next_dispatch(places, self.queue, (w.caller.entered_at for w in view.waiting), free, now)
            if chosen is None or not await self._dial(chosen, now):
                return  # nothing to do, or AMI refused: the next tick tries again

    async def _dial(self, chosen: cb.Dispatch, now: datetime) -> bool:
        refused = self.allow.refusal(chosen.place.number)
        if refused is not None:  # never dialled: an agent sees why on /calls
            log.warning("callback %d: not dialled, the number is %s; the item stays open",
                        chosen.place.callback_id, refused)
            await self._db(self.places.refuse, chosen.place.callback_id, refused)
            return True  # the agent is still free: the next place
        place = cb.dialing(chosen.place, chosen.agent, now)
        await self._db(self.places.save, place)
        log.info("callback %d: ringing %s first", place.callback_id, chosen.agent)
        try:
            action = callback_originate(chosen.agent, place.number, place.callback_id, self.allow)
            await self.send(action.name, action.fields)
        except Exception as exc:  # refused or the link broke: the place waits again
            log.warning("callback %d: Originate failed (%s); waiting again", place.callback_id, exc)
            await self._db(self.places.save, cb.after_attempt(place, None, now))
            return False
        await self._ringing(place.callback_id, chosen.agent, now)
        return True

    async def _ringing(self, callback_id: int, agent: str, now: datetime) -> None:
        """Tell the agent's console (the notifier) it is a callback that rings: the
        originated call passes no queue, so no call.ringing would say so otherwise."""
        if self.publish is None:
            return
        try:
            caller = await self._db(self.places.caller, callback_id)
        except Exception:  # the database for a moment: the phone rings without the pop
            log.exception("callback %d: caller not read; no pop", callback_id)
            return
        if caller is not None:
            await self.publish(ev.CallbackRinging(
                at=now, callback_id=callback_id, agent=agent, caller_raw=caller.raw, caller_number=caller.number,
                caller_name=caller.name, waited_seconds=caller.waited_seconds, ticket_id=caller.ticket_id))

    async def settle(self, event: ev.CallbackDialed) -> None:
        """An attempt's result, from AMI or queue_log (both may come: the first settles)."""
        place = await self._db(self.places.place, event.callback_id)
        if place is None or place.state is not cb.PlaceState.DIALING:
            return  # not ours, or settled already (the caller's ANSWER comes once, per leg)
        if place.dialing_since is not None and event.at < place.dialing_since - RESULT_SLACK:
            return  # an earlier attempt's result (queue_log times are whole seconds)
        after = cb.after_attempt(place, event.dial_status or "UNKNOWN", event.at)
        log.info("callback %d: %s -> %s", place.callback_id, event.dial_status, after.state.value)
        await self._db(self.places.save, after)
        self._wake.set()

