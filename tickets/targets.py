"""Resolution targets per (organisation or default) x priority x level, and the time a
ticket spent at each level.

Layer: domain, pure (no I/O, no clock). The calendar is the SLA's (tickets.sla:
service hours in one time zone, public holidays closed): a target of N hours is N
hours of open service time, so it stands still over nights, weekends and holidays
and is as long as the clock really was across a DST change. Level 0 is the whole
ticket (the contractual resolution time); levels 1-3 the time at that level.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tickets.sla import ServiceHours, SlaPolicy, due_at, zone_for

WHOLE = 0  # the level of the contractual (whole-ticket) target
LEVELS = (WHOLE, 1, 2, 3)

Key = tuple[int | None, str, int]  # (organisation id or None for the default, priority, level)


def pick_hours(targets: Mapping[Key, float], organisation_id: int | None, priority: str,
               level: int) -> float | None:
    """The organisation's own target, else the default one, else None (no target)."""
    if organisation_id is not None and (organisation_id, priority, level) in targets:
        return targets[(organisation_id, priority, level)]
    return targets.get((None, priority, level))


def target_due(start: datetime, hours: float | None, policy: SlaPolicy) -> datetime | None:
    """When `hours` of service time counted from `start` are up (None: no target)."""
    if hours is None:
        return None
    return due_at(start, hours, policy.service_hours, policy.tz, policy.holidays)


def service_seconds(start: datetime, end: datetime, hours: ServiceHours | None, tz: str,
                    holidays: Container[date] | None = None) -> float:
    """Seconds of open service time between `start` and `end` (aware), 0 if end <= start."""
    # in UTC: Python subtracts two times of one ZoneInfo by their wall clocks, DST ignored
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    hours = hours or ServiceHours()
    if hours.always_open and holidays is None:
        return (end - start).total_seconds()
    zone = zone_for(tz)
    day, last = start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date()
    total = 0.0
    while day <= last:
        if holidays is None or day not in holidays:
            for open_, close in hours.open_intervals(day, zone):
                overlap = min(close, end) - max(open_, start)
                total += max(0.0, overlap.total_seconds())
        day += timedelta(days=1)
    return total


@dataclass(frozen=True, slots=True)
class LevelTime:
    level: int
    seconds: float  # wall-clock time at the level
    service_seconds: float  # of it, inside service hours


def level_times(created_at: datetime, changes: Iterable[tuple[datetime, int]], end: datetime,
                policy: SlaPolicy) -> list[LevelTime]:
    """Time spent at each level: from creation (level 1) through each change (when, new
    level; from the history) to `end` (resolved_at, or now while open). Levels in order."""
    spans: dict[int, list[float]] = {}
    level, since = 1, created_at.astimezone(UTC)
    for at, new in [*sorted(changes, key=lambda c: c[0]), (end, 0)]:
        at = min(max(at.astimezone(UTC), since), end.astimezone(UTC))
        got = spans.setdefault(level, [0.0, 0.0])
        got[0] += (at - since).total_seconds()
        got[1] += service_seconds(since, at, policy.service_hours, policy.tz, policy.holidays)
        level, since = new, at
    return [LevelTime(lv, s[0], s[1]) for lv, s in sorted(spans.items())]
