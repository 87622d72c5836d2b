"""Queue metric definitions, as pure functions over finished calls.

Layer: domain, pure (no I/O, no clock). The same definitions serve live figures
(from events) and historical ones (from stored call records). Never computed
from Asterisk's HoldTime/TalkTime counters in QueueParams: those are running
averages, not means, and reset when Asterisk restarts.

Definitions (threshold T, default 25 s; short-abandon threshold S, default 5 s):
- offered: calls that entered the queue (answered, abandoned, timed out;
  after-hours calls never entered it and are reported apart);
- service level (the one we state): answered within T / (offered - short abandons);
- Asterisk's SL (answered only): answered within T / answered;
- Asterisk's SL2 (abandons within T count as success):
  (answered within T + abandoned within T) / (answered + abandoned);
- "if answered now": the service level today would have if every caller still
  waiting were answered this moment (one more offered call each, within T when
  its wait so far is within T); the wallboard shows it beside today's figure;
- ASA: mean wait of answered calls; AHT: mean talk + wrap-up of answered calls;
- abandon rate: abandoned after S / offered; longest wait: of any offered call;
- a caller who left the queue for a callback (outcome `callback`, "press 1 to be
  called back") is offered and not answered (the promise was not kept on that
  call), but never an abandon: the callback call reaches them;
- a call another site took (outcome `overflowed`, its entry leg) is not counted
  here: it is counted once, as the answering site's call (tickets.call_join).
A figure with nothing to divide by is None, not 0 or 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ANSWERED, ABANDONED, TIMEOUT, TRANSFERRED, AFTER_HOURS, CALLBACK, OVERFLOWED = (
    "answered", "abandoned", "timeout", "transferred", "after_hours", "callback", "overflowed")


@dataclass(frozen=True, slots=True)
class FinishedCall:
    outcome: str
    wait_seconds: float
    talk_seconds: float = 0.0
    answered: bool | None = None  # None: infer from outcome (transferred calls were answered)

    @property
    def was_answered(self) -> bool:
        if self.answered is not None:
            return self.answered
        return self.outcome in (ANSWERED, TRANSFERRED)


@dataclass(frozen=True, slots=True)
class QueueFigures:
    offered: int
    answered: int
    answered_within: int
    abandoned: int
    short_abandons: int
    timeouts: int
    after_hours: int
    service_level: float | None
    sl_asterisk: float | None
    sl2_asterisk: float | None
    asa: float | None
    aht: float | None
    abandon_rate: float | None
    longest_wait: float | None
    threshold: int
    short_abandon: int


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


@dataclass(slots=True)
class Tally:
    """The running sums `figures` needs, one call at a time: a live queue's today
    adds each call as it ends instead of re-reading the whole day for every view
    (15,000 calls a day, a view several times a second). `figures()` of a tally
    equals `figures()` of the calls it was fed."""

    threshold: int = 25
    short_abandon: int = 5
    calls: int = 0
    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    abandoned_within: int = 0
    short_abandons: int = 0
    timeouts: int = 0
    answered_wait: float = 0.0
    answered_talk: float = 0.0
    longest_wait: float | None = None

    def add(self, c: FinishedCall) -> None:
        if self._step(c, 1) and (self.longest_wait is None or c.wait_seconds > self.longest_wait):
            self.longest_wait = c.wait_seconds

    def remove(self, c: FinishedCall) -> bool:
        """Take out a call `add` was fed (a record written again, or no longer counted).
        True when the longest wait may have left with it: a maximum cannot be taken
        back, so `longest_wait` then still shows it and the caller counts again."""
        return (self._step(c, -1) and self.longest_wait is not None
                and c.wait_seconds >= self.longest_wait)

    def _step(self, c: FinishedCall, n: int) -> bool:
        """Count `c` in (n=1) or out (n=-1) of every sum but the longest wait; True when
        it was offered (the longest wait is of offered calls)."""
        self.calls += n
        if c.outcome in (AFTER_HOURS, OVERFLOWED):
            return False
        self.offered += n
        w = c.wait_seconds
        if c.outcome == TIMEOUT:
            self.timeouts += n
        if c.was_answered:
            self.answered += n
            self.answered_wait += n * w
            self.answered_talk += n * c.talk_seconds
            if w <= self.threshold:
                self.answered_within += n
        elif c.outcome == ABANDONED:
            self.abandoned += n
            if w < self.short_abandon:
                self.short_abandons += n
            if w <= self.threshold:
                self.abandoned_within += n
        return True

    def merge(self, other: Tally) -> None:
        """Add the calls `other` was fed (tallied with the same threshold and short abandon):
        the figures of both together, without going over their calls again."""
        if (other.threshold, other.short_abandon) != (self.threshold, self.short_abandon):
            raise ValueError("tallies of different thresholds cannot be merged")
        self.calls += other.calls
        self.offered += other.offered
        self.answered += other.answered
        self.answered_within += other.answered_within
        self.abandoned += other.abandoned
        self.abandoned_within += other.abandoned_within
        self.short_abandons += other.short_abandons
        self.timeouts += other.timeouts
        self.answered_wait += other.answered_wait
        self.answered_talk += other.answered_talk
        if other.longest_wait is not None and (self.longest_wait is None or other.longest_wait > self.longest_wait):
            self.longest_wait = other.longest_wait

    def figures(self, wrapup_seconds: float = 0.0) -> QueueFigures:
        answered, within = self.answered, self.answered_within
        return QueueFigures(
            offered=self.offered, answered=answered, answered_within=within,
            abandoned=self.abandoned, short_abandons=self.short_abandons, timeouts=self.timeouts,
            after_hours=self.calls - self.offered,
            service_level=_ratio(within, self.offered - self.short_abandons),
            sl_asterisk=_ratio(within, answered),
            sl2_asterisk=_ratio(within + self.abandoned_within, answered + self.abandoned),
            asa=_ratio(self.answered_wait, answered),
            aht=_ratio(self.answered_talk + wrapup_seconds * answered, answered),
            abandon_rate=_ratio(self.abandoned - self.short_abandons, self.offered),
            longest_wait=self.longest_wait, threshold=self.threshold, short_abandon=self.short_abandon)


def tally(calls: Iterable[FinishedCall], threshold: int = 25, short_abandon: int = 5) -> Tally:
    t = Tally(threshold, short_abandon)
    for c in calls:
        t.add(c)
    return t


def figures(calls: Iterable[FinishedCall], threshold: int = 25, short_abandon: int = 5,
            wrapup_seconds: float = 0.0) -> QueueFigures:
    return tally(calls, threshold, short_abandon).figures(wrapup_seconds)


def service_level_if_answered_now(today: QueueFigures, waits: Iterable[float]) -> float | None:
    """Today's service level if every caller still waiting (`waits`, seconds so far)
    were answered now."""
    waits = list(waits)
    within = today.answered_within + sum(1 for w in waits if w <= today.threshold)
    return _ratio(within, today.offered - today.short_abandons + len(waits))
