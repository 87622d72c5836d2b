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


def figures(calls: Iterable[FinishedCall], threshold: int = 25, short_abandon: int = 5,
            wrapup_seconds: float = 0.0) -> QueueFigures:
    calls = list(calls)
    queued = [c for c in calls if c.outcome not in (AFTER_HOURS, OVERFLOWED)]
    answered = [c for c in queued if c.was_answered]
    abandoned = [c for c in queued if c.outcome == ABANDONED and not c.was_answered]
    short = [c for c in abandoned if c.wait_seconds < short_abandon]
    within = sum(1 for c in answered if c.wait_seconds <= threshold)
    abandoned_within = sum(1 for c in abandoned if c.wait_seconds <= threshold)
    offered = len(queued)
    return QueueFigures(
        offered=offered, answered=len(answered), answered_within=within,
        abandoned=len(abandoned), short_abandons=len(short),
        timeouts=sum(1 for c in queued if c.outcome == TIMEOUT),
        after_hours=len(calls) - offered,
        service_level=_ratio(within, offered - len(short)),
        sl_asterisk=_ratio(within, len(answered)),
        sl2_asterisk=_ratio(within + abandoned_within, len(answered) + len(abandoned)),
        asa=_ratio(sum(c.wait_seconds for c in answered), len(answered)),
        aht=_ratio(sum(c.talk_seconds + wrapup_seconds for c in answered), len(answered)),
        abandon_rate=_ratio(len(abandoned) - len(short), offered),
        longest_wait=max((c.wait_seconds for c in queued), default=None),
        threshold=threshold, short_abandon=short_abandon)


def service_level_if_answered_now(today: QueueFigures, waits: Iterable[float]) -> float | None:
    """Today's service level if every caller still waiting (`waits`, seconds so far)
    were answered now."""
    waits = list(waits)
    within = today.answered_within + sum(1 for w in waits if w <= today.threshold)
    return _ratio(within, today.offered - today.short_abandons + len(waits))
