"""Callback decisions, pure: what a waiting caller hears, who is called back next,
and what happens after a callback attempt.

Layer: domain, pure (no I/O, never reads the clock: `now` comes in). May import
callqueue.live (the wallboard's forecast) and cti.events; nothing else.

- `announcement`: when the wallboard's Forecast for the caller breaks the promise
  (`at_risk` with an estimate), the callers ahead, the expected wait in whole
  minutes (rounded up) and the callback offer; otherwise nothing.
- `next_dispatch`: a virtual place keeps the time its caller joined the queue. The
  oldest due place goes to a free agent only when no real caller waiting in the
  queue joined before it (Asterisk serves those first: order across both). One
  agent, one callback at a time.
- `after_attempt`: the caller answered -> done; the agent did not take the call
  (no result in time) -> the place waits again, no attempt counted; the caller did
  not answer (busy, no answer, unreachable) -> tried again after `retry_after`, up
  to `max_attempts`, then given up (the callback item stays open on /calls).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from callqueue.live import Forecast

MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=2)
DIAL_RESULT_WITHIN = timedelta(seconds=75)  # agent ring (20 s) + caller ring (30 s) + margin


@dataclass(frozen=True, slots=True)
class Announcement:
    ahead: int
    minutes: int
    offer_callback: bool


def announcement(forecast: Forecast) -> Announcement | None:
    """Something to say only when the forecast breaks the promise; None otherwise
    (straight into the queue: every second before Queue() is a second the caller
    is neither counted nor in line), and None without an estimate (nobody staffed:
    no wait to say and no promise of a callback soon)."""
    remaining = forecast.expected_remaining_seconds
    if remaining is None or not forecast.at_risk:
        return None
    return Announcement(forecast.ahead, max(1, math.ceil(remaining / 60)), True)


class PlaceState(enum.StrEnum):
    WAITING = "waiting"  # for a free agent (or for its retry time)
    DIALING = "dialing"  # an agent's phone was originated for it
    DONE = "done"  # the caller answered the callback
    GIVEN_UP = "given_up"  # attempts used up: the callback item stays open


@dataclass(frozen=True, slots=True)
class VirtualPlace:
    callback_id: int
    queue: str
    joined_at: datetime  # when its caller joined the real queue: the order key
    number: str  # E.164, what is dialled
    state: PlaceState = PlaceState.WAITING
    attempts: int = 0  # callback calls the caller did not answer
    not_before: datetime | None = None  # the next try (after a failed attempt)
    dialing_since: datetime | None = None
    agent: str = ""  # the interface dialled for it while DIALING


@dataclass(frozen=True, slots=True)
class Dispatch:
    place: VirtualPlace
    agent: str  # PJSIP/1001


def next_dispatch(places: Iterable[VirtualPlace], queue: str, waiting_since: Iterable[datetime],
                  free_agents: Sequence[str], now: datetime) -> Dispatch | None:
    """The place to call back now and the agent to ring first, or None."""
    places = list(places)
    busy = {p.agent for p in places if p.state is PlaceState.DIALING}
    agents = [a for a in free_agents if a not in busy]
    due = sorted((p for p in places if p.queue == queue and p.state is PlaceState.WAITING
                  and (p.not_before is None or p.not_before <= now)),
                 key=lambda p: (p.joined_at, p.callback_id))
    if not due or not agents:
        return None
    first = due[0]
    if any(w < first.joined_at for w in waiting_since):
        return None  # a real caller is ahead of it: Asterisk rings the free agent for them
    return Dispatch(first, agents[0])


def dialing(place: VirtualPlace, agent: str, now: datetime) -> VirtualPlace:
    return replace(place, state=PlaceState.DIALING, agent=agent, dialing_since=now)


def after_attempt(place: VirtualPlace, dial_status: str | None, now: datetime,
                  max_attempts: int = MAX_ATTEMPTS, retry_after: timedelta = RETRY_AFTER) -> VirtualPlace:
    """`dial_status`: Dial()'s DIALSTATUS for the caller's leg; None when the agent's
    phone never got to dial (not answered, or no result in time)."""
    if dial_status == "ANSWER":
        return replace(place, state=PlaceState.DONE, agent="", dialing_since=None)
    if dial_status is None:
        return replace(place, state=PlaceState.WAITING, agent="", dialing_since=None)
    attempts = place.attempts + 1
    if attempts >= max_attempts:
        return replace(place, state=PlaceState.GIVEN_UP, attempts=attempts, agent="", dialing_since=None)
    return replace(place, state=PlaceState.WAITING, attempts=attempts, agent="", dialing_since=None,
                   not_before=now + retry_after)


def overdue(places: Iterable[VirtualPlace], now: datetime,
            within: timedelta = DIAL_RESULT_WITHIN) -> list[VirtualPlace]:
    """Places dialling without a result for too long (the agent did not answer, or
    the result was lost): they go back to waiting."""
    return [p for p in places if p.state is PlaceState.DIALING
            and (p.dialing_since is None or now - p.dialing_since > within)]
