"""Resolution targets (SLA): service hours, due times and overdue checks.

Layer: domain, pure (no I/O, no clock: every function takes the times it needs).
Must not import agent_console; the console turns its settings into a SlaPolicy.

Service hours are wall-clock windows in one time zone ("mon-fri 07:00-17:00");
a target of N hours is N hours of real elapsed time inside those windows, so a
window on a DST-change day is as long as the clock says it really was. Results
are timezone-aware UTC. No service hours (None or "") means 24/7. Public
holidays (tickets.service_calendar.Holidays) have no open window at all.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tickets.models import Priority, TicketStatus

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DONE = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
_CLAUSE = re.compile(r"^(?:([a-z]{3})(?:-([a-z]{3}))?\s+)?(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_MAX_DAYS = 366 * 20  # a target that needs longer than this is a configuration error


@dataclass(frozen=True, slots=True)
class Window:
    weekday: int  # 0 = Monday
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, up to 1440 (24:00)


@dataclass(frozen=True, slots=True)
class ServiceHours:
    """Weekly open windows. `windows == ()` means always open (24/7)."""

    windows: tuple[Window, ...] = ()

    @property
    def always_open(self) -> bool:
        return not self.windows

    @classmethod
    def parse(cls, text: str) -> ServiceHours:
        """'mon-fri 07:00-17:00, sat 09:00-12:00' (clauses separated by ','; several
        windows on one day are fine; a clause without days is every day); '' is 24/7."""
        clauses = [c.strip().lower() for c in text.split(",")]
        if clauses == [""]:
            return cls()
        windows: list[Window] = []
        for clause in clauses:
            windows.extend(_parse_clause(clause, text))
        return cls(tuple(sorted(windows, key=lambda w: (w.weekday, w.start))))

    def open_intervals(self, day: date, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
        """The day's open windows as UTC (start, end) pairs."""
        if self.always_open:
            return [(_local(day, 0, zone), _local(day, 1440, zone))]
        return [(_local(day, w.start, zone), _local(day, w.end, zone))
                for w in self.windows if w.weekday == day.weekday()]


def _parse_clause(clause: str, text: str) -> list[Window]:
    m = _CLAUSE.match(" ".join(clause.split()))
    if not m:
        raise ValueError(f"service hours {text!r}: expected e.g. 'mon-fri 07:00-17:00' or '' for 24/7")
    first, last = (m.group(1), m.group(2) or m.group(1)) if m.group(1) else ("mon", "sun")
    for day in (first, last):
        if day not in DAYS:
            raise ValueError(f"service hours {text!r}: unknown day {day!r} (use {', '.join(DAYS)})")
    lo, hi = DAYS.index(first), DAYS.index(last)
    if lo > hi:
        raise ValueError(f"service hours {text!r}: day range {first}-{last} runs backwards")
    start, end = _minutes(m.group(3), m.group(4), text), _minutes(m.group(5), m.group(6), text)
    if start >= end:
        raise ValueError(f"service hours {text!r}: closing time must be after opening time")
    return [Window(d, start, end) for d in range(lo, hi + 1)]


def _minutes(hh: str, mm: str, text: str) -> int:
    h, m = int(hh), int(mm)
    if m > 59 or h > 24 or (h == 24 and m != 0):
        raise ValueError(f"service hours {text!r}: bad time {hh}:{mm}")
    return h * 60 + m


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Wall-clock `minutes` after midnight of `day` in `zone`, as UTC (24:00 = next midnight)."""
    day = day + timedelta(days=minutes // 1440)
    wall = datetime.combine(day, time(minutes % 1440 // 60, minutes % 60), tzinfo=zone)
    return wall.astimezone(UTC)


def zone_for(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def due_at(created: datetime, hours: float, service_hours: ServiceHours | None, tz: str,
           holidays: Container[date] | None = None) -> datetime:
    """When `hours` of service time have passed since `created` (aware UTC); the
    clock stands still outside service hours and on `holidays` (local dates)."""
    if hours < 0:
        raise ValueError("SLA hours must not be negative")
    cursor, left = _aware_utc(created, "created"), timedelta(hours=hours)
    service_hours = service_hours or ServiceHours()
    if service_hours.always_open and holidays is None:
        return cursor + left
    zone = zone_for(tz)
    day = cursor.astimezone(zone).date() - timedelta(days=1)  # a window may span the UTC date
    for _ in range(_MAX_DAYS):
        for start, end in ([] if holidays is not None and day in holidays
                           else service_hours.open_intervals(day, zone)):
            begin = max(start, cursor)
            if begin >= end:
                continue
            if begin + left <= end:
                return begin + left
            left -= end - begin
            cursor = end
        day += timedelta(days=1)
    raise ValueError(f"SLA of {hours} h does not fit in {_MAX_DAYS} days of service hours")


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    hours_by_priority: Mapping[Priority, float]
    service_hours: ServiceHours | None = None
    tz: str = "Europe/Berlin"
    holidays: Container[date] | None = None  # tickets.service_calendar.Holidays: no service time
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", zone_for(self.tz))  # fail at start-up, not per ticket

    @classmethod
    def from_hours(cls, critical: float, high: float, normal: float, low: float,
                   service_hours: str = "", tz: str = "Europe/Berlin") -> SlaPolicy:
        hours = {Priority.CRITICAL: critical, Priority.HIGH: high, Priority.NORMAL: normal,
                 Priority.LOW: low}
        return cls(hours, ServiceHours.parse(service_hours), tz)

    def due(self, created: datetime, priority: Priority | str) -> datetime | None:
        """Due time for a ticket of `priority` created at `created`; None if it has no target."""
        hours = self.hours_by_priority.get(Priority(priority))
        if hours is None:
            return None
        return due_at(created, hours, self.service_hours, self.tz, self.holidays)


def is_overdue(ticket_due_at: datetime | None, status: TicketStatus | str, now: datetime) -> bool:
    """Past its due time and not resolved or closed."""
    if ticket_due_at is None or TicketStatus(status) in DONE:
        return False
    return _aware_utc(now, "now") > _aware_utc(ticket_due_at, "due_at")


def remaining_seconds(ticket_due_at: datetime | None, status: TicketStatus | str,
                      now: datetime) -> float | None:
    """Seconds until due (negative once overdue); None without a target or when done."""
    if ticket_due_at is None or TicketStatus(status) in DONE:
        return None
    return (_aware_utc(ticket_due_at, "due_at") - _aware_utc(now, "now")).total_seconds()
