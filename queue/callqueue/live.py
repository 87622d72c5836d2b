"""QueueProjection: the live view of each queue, built from the registry's updates.

Layer: domain, pure: `apply(update, now)` and `view(now)` do no I/O and never read
the clock. May import cti.events (the registry's output types) and
callqueue.metrics; nothing else of the project.

Per queue: waiting callers with position and live wait, an expected-wait
estimate and an "at risk" flag for the answer promise (default 25 s); agents
with state and time in state; today's figures from the calls that finished
since `day_start` (callqueue.feed moves it at local midnight), with the live "if
answered now" service level; a series of waiting calls and service level for
the wallboard's chart, sampled whenever the shell calls `sample(now)` (any
interval: the series is kept by age, not by count, and `series()` thins it to
at most SERIES_MAX_POINTS, keeping each stretch's peak).

The browser recomputes a waiting caller's flags every second between pushed
views, with the same rule as `_waiting_view` (agent_console/static/
wallboard-model.js): wait now = server time - entered_at; expected = wait now +
`expected_remaining_seconds`; breached when wait > threshold; at risk when
breached, within WARN_MARGIN_SECONDS of it, expected > threshold, or nobody is
staffed (no estimate). A caller whose agent's phone rings expects no more than the
wait so far (remaining 0): the call is being offered.
The queue's wrap-up time (for AHT) comes in as a QueueWrapUpTime event, as the
registry's agent board gets it: each reducer folds the events it needs.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from callqueue.metrics import FinishedCall, QueueFigures, Tally, service_level_if_answered_now
from cti import events as ev

HISTORY = timedelta(hours=26)
SERIES_WINDOW = timedelta(hours=24)  # samples are kept this long (and only since day_start)
SERIES_MAX_POINTS = 720  # what `series()` hands out: a chart is ~1000-2000 px wide
DEFAULT_HANDLE_SECONDS = 180.0  # until today's calls give a mean talk time
WARN_MARGIN_SECONDS = 5.0  # flag a caller this long before the promise breaks
_UNTALLIED = object()  # the tallies must be counted again
_STAFFED = {ev.AgentState.AVAILABLE, ev.AgentState.RINGING, ev.AgentState.ON_CALL,
            ev.AgentState.WRAP_UP}


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    linkedid: str
    queue: str
    caller_raw: str
    caller_number: str | None
    caller_name: str
    entered_at: datetime
    position: int
    ringing_agents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WaitingView:
    caller: WaitingCaller
    wait_seconds: float
    expected_wait_seconds: float | None  # total expected wait; None when nobody is staffed
    expected_remaining_seconds: float | None  # expected - waited: what the estimate adds to the wait
    at_risk: bool  # the promise is about to break (or will, by the estimate)
    breached: bool  # already waited longer than the promise


@dataclass(frozen=True, slots=True)
class AgentView:
    agent: ev.AgentSnapshot
    seconds_in_state: float


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    waiting: int
    service_level: float | None


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    waiting: tuple[WaitingView, ...]
    longest_wait_seconds: float | None
    agents: tuple[AgentView, ...]
    available_agents: int
    staffed_agents: int
    today: QueueFigures
    service_level_now: float | None  # today's SL if every waiting caller were answered now


# A finished call as held for today's figures: (queue, ended_at, outcome, wait, talk,
# answered), an exact tuple of plain values, which the garbage collector stops tracking
# (a dataclass, or a tuple holding a FinishedCall, it walks on every full pass: two
# objects per call, 30,000 for a busy day, about a quarter of a serving process's).
_Finished = tuple[str, datetime, str, float, float, "bool | None"]


def _held(queue: str, ended_at: datetime, c: FinishedCall) -> _Finished:
    return (queue, ended_at, c.outcome, c.wait_seconds, c.talk_seconds, c.answered)


def _call(f: _Finished) -> FinishedCall:
    return FinishedCall(f[2], f[3], f[4], f[5])


@dataclass
class QueueProjection:
    threshold: int = 25
    short_abandon: int = 5
    day_start: datetime | None = None
    queues: set[str] = field(default_factory=set)
    _waiting: dict[str, WaitingCaller] = field(default_factory=dict)
    _agents: dict[str, ev.AgentSnapshot] = field(default_factory=dict)
    _finished: deque[_Finished] = field(default_factory=deque)
    _series: dict[str, deque[Sample]] = field(default_factory=dict)
    _wrapup: dict[str, float] = field(default_factory=dict)  # queue -> wrapuptime (AHT = talk + wrap-up)
    _thinned: dict[str, list[Sample]] = field(default_factory=dict)  # series() until the next sample
    # today's sums per queue, kept as calls finish (a view must not re-read the day):
    # built for `_tallied_since`, rebuilt from `_finished` when day_start moves
    _tallies: dict[str, Tally] = field(default_factory=dict)
    _tallied_since: datetime | object | None = None

    # --- input -----------------------------------------------------------
    def apply(self, update: ev.CallUpdated | ev.AgentUpdated | ev.QueueWrapUpTime, now: datetime) -> bool:
        """Fold one registry update in; True when the view changed."""
        if isinstance(update, ev.QueueWrapUpTime):
            # Asterisk's wrapuptime as the bridge read it (None: unknown, counted as 0)
            self._wrapup[update.queue] = float(update.seconds or 0)
            self.queues.add(update.queue)
            return True
        if isinstance(update, ev.AgentUpdated):
            self._agents[update.agent.agent] = update.agent
            self.queues.update(update.agent.queues)
            return True
        return self._on_call(update, now)

    def _on_call(self, update: ev.CallUpdated, now: datetime) -> bool:
        call = update.call
        if call.queue:
            self.queues.add(call.queue)
        waiting = call.entered_at is not None and call.answered_at is None and call.ended_at is None
        if update.change in (ev.CallChange.AFTER_HOURS, ev.CallChange.OVERFLOWED):
            waiting = False  # closed, or gone to another site's queue (its entry leg stays up)
        if waiting and call.entered_at is not None:
            self._waiting[call.linkedid] = WaitingCaller(
                call.linkedid, call.queue, call.caller_raw, call.caller_number, call.caller_name,
                call.entered_at, call.position, call.ringing_agents)
        else:
            self._waiting.pop(call.linkedid, None)
        if update.change == ev.CallChange.ENDED and call.outcome is not None:
            self._finish(call, now)
        return True

    def _finish(self, call: ev.CallSnapshot, now: datetime) -> None:
        answered = call.answered_at is not None
        finished = FinishedCall(outcome=call.outcome.value if call.outcome else "",
                                wait_seconds=call.wait_seconds or 0.0,
                                talk_seconds=call.talk_seconds or 0.0, answered=answered)
        self._record(_held(call.queue, call.ended_at or now, finished), finished)
        while self._finished and now - self._finished[0][1] > HISTORY:
            gone = self._finished.popleft()
            if self._counts(gone):  # only without a day_start: "today" is then the last HISTORY
                self._tallied_since = _UNTALLIED

    def load_finished(self, queue: str, ended_at: datetime, call: FinishedCall) -> None:
        """Seed today's figures from stored call records at start-up."""
        self.queues.add(queue)
        self._record(_held(queue, ended_at, call), call)

    def _record(self, f: _Finished, call: FinishedCall) -> None:
        self._finished.append(f)
        if self._tallied_since == self.day_start and self._counts(f):
            self._tally(f[0]).add(call)

    def _counts(self, f: _Finished) -> bool:
        return self.day_start is None or f[1] >= self.day_start

    def _tally(self, queue: str) -> Tally:
        t = self._tallies.get(queue)
        if t is None:
            t = self._tallies[queue] = Tally(self.threshold, self.short_abandon)
        return t

    def sample(self, now: datetime) -> dict[str, Sample]:
        """Take the chart's sample, at whatever interval the shell calls this; samples
        older than SERIES_WINDOW or from before `day_start` are dropped."""
        taken = {}
        oldest = now - SERIES_WINDOW
        if self.day_start is not None:
            oldest = max(oldest, self.day_start)
        self._thinned.clear()
        for name in sorted(self.queues):
            s = Sample(now, sum(1 for w in self._waiting.values() if w.queue == name),
                       self.today(name).service_level)
            series = self._series.setdefault(name, deque())
            series.append(s)
            while series and series[0].at < oldest:
                series.popleft()
            taken[name] = s
        return taken

    # --- output ----------------------------------------------------------
    def wrapup_for(self, queue: str) -> float:
        return self._wrapup.get(queue, 0.0)

    def series(self, queue: str) -> list[Sample]:
        """The chart's samples, oldest first: all of them, or at most SERIES_MAX_POINTS
        (see `thin`); the last one is always the latest sample."""
        found = self._thinned.get(queue)
        if found is None:
            found = self._thinned[queue] = thin(list(self._series.get(queue, ())), SERIES_MAX_POINTS)
        return found

    def today(self, queue: str) -> QueueFigures:
        if self._tallied_since != self.day_start:  # a new day (or the first look): count again
            self._tallies.clear()
            self._tallied_since = self.day_start
            for f in self._finished:
                if self._counts(f):
                    self._tally(f[0]).add(_call(f))
        t = self._tallies.get(queue) or Tally(self.threshold, self.short_abandon)
        return t.figures(self.wrapup_for(queue))

    def view(self, queue: str, now: datetime) -> QueueView:
        agents, available, staffed, today, waiting = self._basis(queue)
        agents.sort(key=lambda a: a.agent)
        handle = (today.aht if today.aht else DEFAULT_HANDLE_SECONDS)
        views = tuple(self._waiting_view(w, i + 1, now, available, staffed, handle)
                      for i, w in enumerate(waiting))
        longest = max((v.wait_seconds for v in views), default=None)
        return QueueView(queue, views, longest,
                         tuple(AgentView(a, max(0.0, (now - a.since).total_seconds())) for a in agents),
                         available, staffed, today,
                         service_level_if_answered_now(today, (v.wait_seconds for v in views)))

    def _basis(self, queue: str) -> tuple[list[ev.AgentSnapshot], int, int, QueueFigures, list[WaitingCaller]]:
        """The queue's agents, how many are free and staffed, today's figures, its callers in order."""
        agents = [a for a in self._agents.values() if queue in a.queues]
        staffed = sum(1 for a in agents if a.state in _STAFFED)
        available = sum(1 for a in agents if a.state == ev.AgentState.AVAILABLE)
        waiting = sorted((w for w in self._waiting.values() if w.queue == queue),
                         key=lambda w: (w.entered_at, w.position))
        return agents, available, staffed, self.today(queue), waiting

    def _waiting_view(self, w: WaitingCaller, place: int, now: datetime, available: int,
                      staffed: int, handle: float) -> WaitingView:
        waited = max(0.0, (now - w.entered_at).total_seconds())
        # an agent's phone rings for this caller now: answered when it is picked up, not after
        # another round of calls (else every ring with nobody else free raised a false alarm)
        expected = waited if w.ringing_agents else expected_wait(place, waited, available, staffed, handle)
        breached = waited > self.threshold
        at_risk = breached or waited >= self.threshold - WARN_MARGIN_SECONDS or (
            expected is None or expected > self.threshold)
        remaining = None if expected is None else expected - waited
        return WaitingView(w, waited, expected, remaining, at_risk, breached)

    def waiting_caller(self, linkedid: str) -> WaitingCaller | None:
        return self._waiting.get(linkedid)

    def forecast(self, queue: str, now: datetime, linkedid: str = "") -> Forecast:
        """What the wallboard would show for this caller: its own row when it waits
        already, else a caller joining now (behind everyone waiting)."""
        # asked by the FastAGI for every caller, on the loop: the one row, not the whole view
        # (a view of 150 callers and 200 agents built about 0.5 ms of objects; bench_load)
        _, available, staffed, today, waiting = self._basis(queue)
        handle = today.aht if today.aht else DEFAULT_HANDLE_SECONDS
        for place, w in enumerate(waiting, start=1):
            if w.linkedid == linkedid:
                row = self._waiting_view(w, place, now, available, staffed, handle)
                return Forecast(place - 1, row.expected_remaining_seconds, row.at_risk, self.threshold)
        place = len(waiting) + 1
        expected = expected_wait(place, 0.0, available, staffed, handle)
        return Forecast(place - 1, expected, expected is None or expected > self.threshold, self.threshold)


@dataclass(frozen=True, slots=True)
class Forecast:
    """One caller's outlook: callers ahead, expected seconds still to wait (None:
    nobody staffed, no estimate) and whether the promise (`threshold` s) breaks."""

    ahead: int
    expected_remaining_seconds: float | None
    at_risk: bool
    threshold: int


def expected_wait(place: int, waited: float, available: int, staffed: int, handle: float) -> float | None:
    """The wallboard's estimate of the total wait of the caller at `place` (1 = first)."""
    if place <= available:
        return waited  # an agent is free: it rings now
    if staffed == 0:
        return None  # nobody to answer: no estimate, but certainly at risk
    rounds = math.ceil((place - available) / staffed)
    return waited + rounds * handle / 2  # on average a busy agent is halfway through


def thin(samples: list[Sample], max_points: int) -> list[Sample]:
    """At most `max_points` of `samples` (oldest first): the span before the latest
    sample is cut into equal stretches and each stretch keeps its sample with the
    most waiting calls (a peak is what a supervisor looks for); a stretch without
    samples stays empty, so a gap in sampling stays a gap. The latest sample is kept."""
    if len(samples) <= max_points or max_points < 2:
        return samples
    *older, latest = samples
    width = (latest.at - older[0].at) / (max_points - 1)
    if width <= timedelta(0):  # a clock set back: no time order to thin by
        return samples[-max_points:]
    kept: dict[int, Sample] = {}
    for s in older:
        slot = min(max_points - 2, int((s.at - older[0].at) / width))
        if slot not in kept or s.waiting >= kept[slot].waiting:
            kept[slot] = s
    return [kept[slot] for slot in sorted(kept)] + [latest]
