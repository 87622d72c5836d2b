"""A report's period (day, week, month, custom) in the desk's time zone, and the
local keys calls and tickets are grouped by (hour of day, weekday, day).

Layer: domain, pure (no I/O, no clock: "today" is passed in). Must not import
agent_console. Periods are half-open [start, end) in aware UTC; a day is a local
calendar day however long the clock says it was (23 or 25 hours on DST days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

KINDS = ("day", "week", "month", "custom")
MAX_CUSTOM_DAYS = 366 * 2  # a longer custom period is refused (ask for two reports)


class PeriodError(ValueError):
    """A period that cannot be built; the message says what to give instead."""


@dataclass(frozen=True, slots=True)
class Period:
    kind: str
    first: date  # local, inclusive
    last: date  # local, inclusive
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    tz: str

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period(kind: str, zone: ZoneInfo, anchor: date | None = None, first: date | None = None,
           last: date | None = None) -> Period:
    """`kind` day|week|month around `anchor` (a local date), or custom `first`..`last`
    (local dates, both inclusive). A week is Monday to Sunday (ISO)."""
    if kind not in KINDS:
        raise PeriodError(f"period must be one of {', '.join(KINDS)}")
    if kind == "custom":
        if first is None or last is None:
            raise PeriodError("a custom period needs from and to (dates, YYYY-MM-DD)")
        if last < first:
            raise PeriodError("to must not be before from")
        if (last - first).days >= MAX_CUSTOM_DAYS:
            raise PeriodError(f"a custom period may span at most {MAX_CUSTOM_DAYS} days")
    else:
        if anchor is None:
            raise PeriodError(f"a {kind} period needs a date (YYYY-MM-DD)")
        first, last = _around(kind, anchor)
    return Period(kind, first, last, local_midnight(first, zone),
                  local_midnight(last + timedelta(days=1), zone), zone.key)


def _around(kind: str, anchor: date) -> tuple[date, date]:
    if kind == "day":
        return anchor, anchor
    if kind == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        return monday, monday + timedelta(days=6)
    first = anchor.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def local(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone)


def hour_of_day(at: datetime, zone: ZoneInfo) -> int:
    return at.astimezone(zone).hour


def weekday(at: datetime, zone: ZoneInfo) -> int:
    """0 = Monday."""
    return at.astimezone(zone).weekday()


def local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()
