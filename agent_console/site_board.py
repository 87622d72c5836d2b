"""SiteBoard: the supervisors' picture of every site and of the virtual hotline, live.

Layer: I/O shell around callqueue.sites (pure). Each site is a `Followed`: its live
queue figures and its status (is its bridge heard, is its PBX connected, have its
figures arrived). This instance's own site is the wallboard's own projection; every
other site is what its bridge announces on the peers channel (scaleout.codec.SiteLive,
within a second of a change): no instance follows another site's event stream, so
a busy site costs the others nothing. Today's
finished calls per site come from the database (call records carry `site`), read off
the loop every `today_every` seconds (assembly's `today_figures` reads only what was
written since its last read and counts it into running tallies:
tickets.reports.FinishedToday), so calls a returning
bridge reconciles from its queue_log show up too. One named task recomputes the board every `every` seconds and
pushes `sites.updated` to supervisors when it changed; `view()` is the same for the
snapshot and `GET /api/sites`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from callqueue.live import QueueProjection
from callqueue.sites import Board, DayFigures, SiteInput, SiteState, Totals, board, day_figures

from agent_console import views
from agent_console.hub import SUPERVISORS_ONLY, Hub
from cti.tasks import TaskSet

log = logging.getLogger(__name__)
BOARD_EVERY = 0.5  # seconds between recomputations (down detection is time-driven)
TODAY_EVERY = 2.0  # seconds between reads of today's finished calls per site


class Status(Protocol):
    def __call__(self, mono: float) -> tuple[bool, bool, bool]: ...  # bridge heard, PBX connected, synced


class Runs(Protocol):
    def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Live:
    """A site's queue now: callers waiting, the oldest one's join, agents available and staffed."""

    waiting: int
    oldest_entered_at: datetime | None
    available: int
    staffed: int


def projected(projection: QueueProjection, queue: str) -> Callable[[datetime], Live]:
    """A site's live figures from a queue projection (this instance's own site)."""
    def live(now: datetime) -> Live:
        v = projection.view(queue, now)
        oldest = min((w.caller.entered_at for w in v.waiting), default=None)
        return Live(len(v.waiting), oldest, v.available_agents, v.staffed_agents)
    return live


@dataclass
class Followed:
    """One site as this instance sees it: its live figures (from this instance's own
    projection, or as another site's bridge announces them) and its status; `runs` is
    what keeps it current, None when nothing needs running."""

    site: str
    live: Callable[[datetime], Live]
    status: Status
    runs: Runs | None = None

    def input(self, now: datetime, status: tuple[bool, bool, bool], stale_since: datetime | None) -> SiteInput:
        v = self.live(now)
        return SiteInput(self.site, *status, v.waiting, v.oldest_entered_at, v.available, v.staffed, stale_since)


@dataclass
class SiteBoard:
    hub: Hub
    clock: Callable[[], datetime]
    own: Followed
    # today's figures per site since a start (sync: off the loop; FinishedToday counts
    # only what was written since its last read)
    today_figures: Callable[[datetime], DayFigures]
    day_start: Callable[[], datetime]
    threshold: int = 25
    short_abandon: int = 5
    discover: Callable[[float], Iterable[str]] | None = None  # sites heard lately (monotonic now)
    follow: Callable[[str], Followed] | None = None  # a follower for another site
    every: float = BOARD_EVERY
    today_every: float = TODAY_EVERY
    sources: dict[str, Followed] = field(default_factory=dict)
    today: DayFigures | None = None  # counted off the loop at each read of the day
    _last_up: dict[str, datetime] = field(default_factory=dict)
    _board: Board | None = None
    _tasks: TaskSet = field(default_factory=TaskSet)
    _started: bool = False

    def __post_init__(self) -> None:
        self.sources[self.own.site] = self.own

    def add(self, source: Followed) -> None:
        """Follow `source` (started when the board runs already)."""
        self.sources[source.site] = source
        if source.runs is not None and self._started:
            source.runs.start()

    def compute(self, mono: float | None = None) -> Board:
        """The board now; a site that is up notes the time (a later outage shows its numbers as of then)."""
        now, mono = self.clock(), time.monotonic() if mono is None else mono
        inputs = []
        for name in sorted(self.sources):
            status = self.sources[name].status(mono)
            if all(status):
                self._last_up[name] = now
            inputs.append(self.sources[name].input(now, status, None if all(status) else self._last_up.get(name)))
        today = self.today or day_figures({}, self.threshold, self.short_abandon)
        return board(inputs, today, self.threshold, self.short_abandon)

    def view(self) -> dict[str, Any]:
        return board_json(self._board or self.compute(), self.clock())

    # --- the task ------------------------------------------------------------------
    def start(self) -> None:
        self._started = True
        self._tasks.spawn(self._run(), "site-board")
        for source in self.sources.values():
            if source.runs is not None:
                source.runs.start()

    async def close(self) -> None:
        await self._tasks.stop()
        for source in list(self.sources.values()):
            if source.runs is not None:
                await source.runs.close()

    async def refresh_today(self) -> None:
        try:
            self.today = await asyncio.to_thread(self.today_figures, self.day_start())
        except Exception as exc:  # the database is down: keep the last figures, say so once a round
            log.warning("sites board: today's calls per site not read (%s); showing the last ones", exc)

    async def _run(self) -> None:
        next_today = 0.0
        while True:
            mono = time.monotonic()
            self._discover(mono)
            if mono >= next_today:
                await self.refresh_today()
                next_today = mono + self.today_every
            fresh = self.compute(mono)
            if fresh != self._board:
                self._board = fresh
                self.hub.publish("sites.updated", board_json(fresh, self.clock()), SUPERVISORS_ONLY)
            await asyncio.sleep(self.every)

    def _discover(self, mono: float) -> None:
        if self.discover is None or self.follow is None:
            return
        for name in self.discover(mono):
            if name not in self.sources:
                log.info("sites board: following site %s", name)
                self.add(self.follow(name))


def _live(waiting: int, oldest: datetime | None, available: int, staffed: int, now: datetime) -> dict[str, Any]:
    return {"waiting_count": waiting, "oldest_entered_at": views.iso(oldest),
            "longest_wait_seconds": max(0.0, (now - oldest).total_seconds()) if oldest else None,
            "available_agents": available, "staffed_agents": staffed}


def board_json(b: Board, now: datetime) -> dict[str, Any]:
    """The board for the WebSocket and the API; the page ticks waits from `oldest_entered_at`."""
    t: Totals = b.total
    return {
        "at": views.iso(now),
        "total": {**_live(t.waiting, t.oldest_entered_at, t.available, t.staffed, now),
                  "today": views.figures_json(t.today), "missing": list(t.missing)},
        "sites": [{"site": r.site, "state": r.state.value, "reason": r.reason.value if r.reason else None,
                   "stale": r.stale, "stale_since": views.iso(r.live_at),
                   **_live(r.waiting, r.oldest_entered_at, r.available, r.staffed, now),
                   "today": views.figures_json(r.today)} for r in b.sites],
        "up": [r.site for r in b.sites if r.state is SiteState.UP],
    }
