"""The FastAGI scripts hotline answers, and the server that carries them.

Layer: edge (wiring and a thin async shell). `route`: the caller's number goes
through the same ranked lookup the pop uses (tickets.lookup) and
tickets.route_facts, on a small thread pool of its own (never the loop, never
the pool the plain `def` routes share); tickets.routing decides; the answer is
channel variables, and a CallRouted event puts the route into the registry, so
the pop and the call record say which route was taken and why. Whether an
organisation has an open critical ticket (a switchboard caller is moved up then) is
read at most every CRITICAL_SECONDS: one step per open critical ticket was the slow
part of a switchboard call's decision. Late or failing:
the fallback (the plain queue, reason `fallback`) goes out instead, within the
server's deadline. Logs name the Linkedid, never the caller's number.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Generic, TypeVar

from callqueue.live import QueueProjection
from sqlalchemy.orm import Session, sessionmaker

from agent_console.agi_ivr import IvrScripts
from agent_console.callback_agi import CallbackDispatcher, CallbackScripts
from agent_console.settings import Settings
from cti import events as ev
from cti.agi import AgiRequest
from cti.agi_server import AgiScript, AgiServer, Variables
from cti.bridge import AmiBridge
from cti.calls_agents import AgentBoard
from tickets.callback_places import CallbackPlaces
from tickets.lookup import CustomerLookup
from tickets.route_facts import caller_facts, critical_organisations
from tickets.routing import LANGUAGES, CallerFacts, Route, decide, fallback_route, languages_reached, parse_teams
from tickets.service_calendar import open_at
from tickets.sla import SlaPolicy

log = logging.getLogger(__name__)

Publish = Callable[[ev.DomainEvent], Awaitable[None]]
T = TypeVar("T")
CRITICAL_SECONDS = 5.0  # how old the organisations-with-an-open-critical-ticket set may be


class Every(Generic[T]):
    """`read()`'s value, read again when it is older than `seconds` (agents' languages
    change rarely; a route must not read the users table on every call)."""

    def __init__(self, read: Callable[[], T], seconds: float = 30.0) -> None:
        self.read, self.seconds = read, seconds
        self._value: tuple[float, T] | None = None

    def __call__(self) -> T:
        now = time.monotonic()
        if self._value is None or now - self._value[0] > self.seconds:
            self._value = (now, self.read())
        return self._value[1]


class RouteScript:
    def __init__(self, lookup: CustomerLookup, teams: str, queue: str, clock: Callable[[], datetime],
                 is_open: Callable[[datetime], bool], publish: Publish | None = None,
                 workers: int = 4, ivr: bool = False,
                 generalists: Callable[[], Collection[str]] | None = None) -> None:
        """`generalists`: the languages the members of no focus team logged in now speak
        (tickets.routing.decide; called on the loop)."""
        self.lookup, self.teams, self.queue, self.ivr = lookup, parse_teams(teams), queue, ivr
        self.generalists = generalists
        self.clock, self.is_open, self.publish = clock, is_open, publish
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="agi-lookup")
        # a switchboard caller is moved up for any open critical ticket of the organisation:
        # that set, read at most every CRITICAL_SECONDS, not once per call (bench/bench_agi.py)
        self.critical = Every(lambda: critical_organisations(lookup.engine), CRITICAL_SECONDS)
        self._notes: set[asyncio.Task[None]] = set()  # fallback notes in flight (a few at most)
        self.decisions_ms: list[float] = []  # lookup + facts + decision, the last 10,000 (bench, /metrics)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def facts(self, number: str) -> CallerFacts:
        return caller_facts(self.lookup.engine, self.lookup.lookup(number), self.critical)

    async def route(self, request: AgiRequest) -> Route:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        facts = await loop.run_in_executor(self._pool, self.facts, request.callerid)
        generalists = self.generalists() if self.generalists is not None else None  # the registry: on the loop
        if len(request.args) > 1 and request.args[1] in LANGUAGES:  # the caller chose (extensions_ivr.conf)
            facts = replace(facts, language=request.args[1], chosen=True)
        route = decide(facts, self.teams, open_now=self.is_open(self.clock()), generalists=generalists)
        self.decisions_ms.append((time.perf_counter() - started) * 1000)
        if len(self.decisions_ms) > 10_000:
            del self.decisions_ms[:5_000]
        return route

    async def handle(self, request: AgiRequest) -> Variables:
        route = await self.route(request)
        await self._note(request, route)
        *variables, routed = route.variables(self.queue)  # HOTLINE_ROUTED stays the last
        return [*variables, ("HOTLINE_IVR", "1" if self.ivr else "0"), routed]

    def fallback(self, request: AgiRequest, reason: str) -> Variables:
        log.warning("AGI route for %s: %s, answering with the plain queue", _linkedid(request), reason)
        route = fallback_route()
        if self.publish is not None:
            task = asyncio.get_running_loop().create_task(self._note(request, route), name="agi-fallback-note")
            self._notes.add(task)
            task.add_done_callback(self._notes.discard)
        return route.variables(self.queue)

    async def _note(self, request: AgiRequest, route: Route) -> None:
        if self.publish is None:
            return
        linkedid = _linkedid(request)
        if linkedid:
            await self.publish(ev.CallRouted(at=self.clock(), linkedid=linkedid, route=ev.CallRoute(
                reason=route.reason.value, team=route.team, language=route.language, priority=route.priority,
                priority_reason=route.priority_reason)))


def _linkedid(request: AgiRequest) -> str:
    """The dialplan passes ${CHANNEL(linkedid)} as the first argument."""
    return (request.args[0] if request.args else request.uniqueid)[:64]


def agi_server(script: RouteScript, host: str, port: int, deadline: float,
               more: Mapping[str, AgiScript] | None = None) -> AgiServer:
    return AgiServer({"route": AgiScript(script.handle, script.fallback), **(more or {})}, host=host,
                     port=port, deadline=deadline)


class AgiService:
    """What the composition root starts and stops: the server and its scripts (the caller
    dialogue's, agent_console.agi_ivr; the callback's scripts and dispatcher,
    agent_console.callback_agi). A port that cannot be bound is logged, not fatal: the
    dialplan falls back without us."""

    def __init__(self, script: RouteScript, host: str, port: int, deadline: float,
                 callbacks: tuple[CallbackScripts, CallbackDispatcher] | None = None,
                 ivr: IvrScripts | None = None) -> None:
        self.script, self.callbacks, self.ivr = script, callbacks, ivr
        more = {**(callbacks[0].scripts() if callbacks else {}), **(ivr.scripts() if ivr else {})}
        self.server = agi_server(script, host, port, deadline, more)

    @property
    def dispatcher(self) -> CallbackDispatcher | None:
        return self.callbacks[1] if self.callbacks else None

    async def start(self) -> None:
        try:
            await self.server.start()
        except OSError as exc:
            log.error("FastAGI cannot listen on %s:%d (%s); calls take the plain queue",
                      self.server.host, self.server.requested_port, exc)
        if self.dispatcher:
            self.dispatcher.start()

    async def close(self) -> None:
        if self.dispatcher:
            await self.dispatcher.close()
        await self.server.close()
        self.script.close()
        if self.callbacks:
            self.callbacks[0].close()
        if self.ivr is not None:
            self.ivr.close()


GONE = (ev.AgentState.LOGGED_OUT, ev.AgentState.UNAVAILABLE)  # members who cannot take a call now


def members_generalists(board: AgentBoard) -> frozenset[str]:
    """The languages band 0 covers among the members who can take a call now (their
    penalties as Asterisk reports them: a login's band, an admin's `queue set penalty`).
    Read in place on the board: routing asks for every call, and a snapshot of 200 agents
    each time was most of a route's work on the loop (bench_load)."""
    return languages_reached(board.penalties(GONE))


def build_agi(s: Settings, lookup: CustomerLookup, bridge: AmiBridge | None, policy: SlaPolicy,
              clock: Callable[[], datetime], projection: QueueProjection | None = None,
              sessions: sessionmaker[Session] | None = None, ivr: IvrScripts | None = None) -> AgiService | None:
    """FastAGI only beside the AMI bridge (the registry it notes routes in); open or
    closed on the SLA's own calendar (service hours and holidays)."""
    if bridge is None:
        return None

    def is_open(now: datetime) -> bool:
        return open_at(now, policy.service_hours, policy.tz, policy.holidays)

    script = RouteScript(lookup, s.focus_teams, s.queue_name, clock, is_open, bridge.note, ivr=s.ivr,
                         generalists=lambda: members_generalists(bridge.registry.agents))
    callbacks = None
    if projection is not None and sessions is not None:
        places = CallbackPlaces(sessions, policy, s.site)
        dispatcher = CallbackDispatcher(places, projection, s.queue_name, clock, bridge.send,
                                        lambda: bridge.connected, s.dial_allow_list, publish=bridge.bus.publish)
        callbacks = (CallbackScripts(places, projection, s.queue_name, s.default_region, clock, bridge.note,
                                     dispatcher.wake, s.dial_allow_list), dispatcher)
    return AgiService(script, s.agi_host, s.agi_port, s.agi_deadline_seconds, callbacks, ivr)
