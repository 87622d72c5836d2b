"""Public holidays by region, and "is the hotline open now?" on the SLA's calendar.

Layer: domain, pure apart from the maintained `holidays` library's tables (no
I/O, no clock: every function takes the time it needs). One calendar serves the
FastAGI route (closed on a holiday), the SLA clock (tickets/sla.py skips
holidays) and `hotline asterisk up` (the dialplan's fallback closes on the same
dates), so the three never disagree.

HOTLINE_HOLIDAYS: "" (none), a country ("DE") or a country and subdivision
("DE-SN" Saxony, "DE-BY" Bavaria), as ISO 3166 codes.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_tables

from tickets.sla import ServiceHours, zone_for


class Holidays:
    """Picklable (the writer process gets the SLA policy): only the region is kept,
    each year's dates are computed on first use."""

    def __init__(self, region: str) -> None:
        country, _, subdiv = region.strip().upper().partition("-")
        try:
            holiday_tables.country_holidays(country, subdiv=subdiv or None)
        except NotImplementedError as exc:
            raise ValueError(f"holidays region {region!r}: {exc} (e.g. DE, DE-SN, DE-BY)") from exc
        self.region, self.country, self.subdiv = region.strip().upper(), country, subdiv or None
        self._years: dict[int, dict[date, str]] = {}

    def _year(self, year: int) -> dict[date, str]:
        found = self._years.get(year)
        if found is None:
            table = holiday_tables.country_holidays(self.country, subdiv=self.subdiv, years=year)
            found = self._years[year] = {d: str(name) for d, name in table.items()}
        return found

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in self._year(day.year)

    def name(self, day: date) -> str | None:
        return self._year(day.year).get(day)

    def between(self, first: date, days: int) -> list[date]:
        """The holidays in [first, first + days)."""
        last = first + timedelta(days=days)
        years = range(first.year, last.year + 1)
        return sorted(d for y in years for d in self._year(y) if first <= d < last)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Holidays) and other.region == self.region

    def __hash__(self) -> int:
        return hash(self.region)

    def __repr__(self) -> str:
        return f"Holidays({self.region!r})"


def parse_region(text: str) -> Holidays | None:
    return Holidays(text) if text.strip() else None


def open_at(now: datetime, hours: ServiceHours | None, tz: str | ZoneInfo,
            holidays: Container[date] | None = None) -> bool:
    """Open at `now` (aware): not a public holiday, and inside a service-hours window."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(tz if isinstance(tz, ZoneInfo) else zone_for(tz))
    if holidays is not None and local.date() in holidays:
        return False
    if hours is None or hours.always_open:
        return True
    minute = local.hour * 60 + local.minute
    return any(w.weekday == local.weekday() and w.start <= minute < w.end for w in hours.windows)
