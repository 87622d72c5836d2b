"""QueueProjection: the live view of each queue, built from the registry's updates.

Layer: domain, pure: `apply(update, now)` and `view(now)` do no I/O and never read
the clock. May import cti.events (the registry's output types) and
callqueue.metrics; nothing else of the project.

Per queue: waiting callers with position and live wait, an expected-wait
estimate and an "at risk" flag for the answer promise (default 25 s); agents
with state and time in state; today's figures from the calls that finished
since `day_start` (callqueue.feed moves it at local midnight); a series of
waiting calls and service level for the wallboard's chart (sampled by the feed).
The queue's wrap-up time (for AHT) comes in as a QueueWrapUpTime event, as the
registry's agent board gets it: each reducer folds the events it needs.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from callqueue.metrics import FinishedCall, QueueFigures, figures
from cti import events as ev

HISTORY = timedelta(hours=26)
SERIES_POINTS = 8 * 60  # one sample a minute, eight hours
DEFAULT_HANDLE_SECONDS = 180.0  # until today's calls give a mean talk time
WARN_MARGIN_SECONDS = 5.0  # flag a caller this long before the promise breaks
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


@dataclass
class _Finished:
    queue: str
    ended_at: datetime
    call: FinishedCall


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
        if update.change == ev.CallChange.AFTER_HOURS:
            waiting = False
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
        self._finished.append(_Finished(call.queue, call.ended_at or now, finished))
        while self._finished and now - self._finished[0].ended_at > HISTORY:
            self._finished.popleft()

    def load_finished(self, queue: str, ended_at: datetime, call: FinishedCall) -> None:
        """Seed today's figures from stored call records at start-up."""
        self.queues.add(queue)
        self._finished.append(_Finished(queue, ended_at, call))

    def sample(self, now: datetime) -> dict[str, Sample]:
        """Take the chart's per-minute sample (the shell calls this once a minute)."""
        taken = {}
        for name in sorted(self.queues):
            s = Sample(now, sum(1 for w in self._waiting.values() if w.queue == name),
                       self.today(name).service_level)
            series = self._series.setdefault(name, deque(maxlen=SERIES_POINTS))
            series.append(s)
            taken[name] = s
        return taken

    # --- output ----------------------------------------------------------
    def wrapup_for(self, queue: str) -> float:
        return self._wrapup.get(queue, 0.0)

    def series(self, queue: str) -> list[Sample]:
        return list(self._series.get(queue, ()))

    def today(self, queue: str) -> QueueFigures:
        calls = [f.call for f in self._finished
                 if f.queue == queue and (self.day_start is None or f.ended_at >= self.day_start)]
        return figures(calls, self.threshold, self.short_abandon, self.wrapup_for(queue))

    def view(self, queue: str, now: datetime) -> QueueView:
        agents = [a for a in self._agents.values() if queue in a.queues]
        agents.sort(key=lambda a: a.agent)
        staffed = sum(1 for a in agents if a.state in _STAFFED)
        available = sum(1 for a in agents if a.state == ev.AgentState.AVAILABLE)
        today = self.today(queue)
        handle = (today.aht if today.aht else DEFAULT_HANDLE_SECONDS)
        waiting = sorted((w for w in self._waiting.values() if w.queue == queue),
                         key=lambda w: (w.entered_at, w.position))
        views = tuple(self._waiting_view(w, i + 1, now, available, staffed, handle)
                      for i, w in enumerate(waiting))
        longest = max((v.wait_seconds for v in views), default=None)
        return QueueView(queue, views, longest,
                         tuple(AgentView(a, max(0.0, (now - a.since).total_seconds())) for a in agents),
                         available, staffed, today)

    def _waiting_view(self, w: WaitingCaller, place: int, now: datetime, available: int,
                      staffed: int, handle: float) -> WaitingView:
        waited = max(0.0, (now - w.entered_at).total_seconds())
        expected: float | None
        if place <= available:
            expected = waited  # an agent is free: it rings now
        elif staffed == 0:
            expected = None  # nobody to answer: no estimate, but certainly at risk
        else:
            rounds = math.ceil((place - available) / staffed)
            expected = waited + rounds * handle / 2  # on average a busy agent is halfway through
        breached = waited > self.threshold
        at_risk = breached or waited >= self.threshold - WARN_MARGIN_SECONDS or (
            expected is None or expected > self.threshold)
        return WaitingView(w, waited, expected, at_risk, breached)
