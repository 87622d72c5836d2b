"""One holiday calendar for the FastAGI route (closed), the SLA clock (stops) and
the dialplan (tests/cli/test_service_hours.py)."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tickets.models import Priority
from tickets.routing import CallerFacts, Reason, decide
from tickets.service_calendar import Holidays, open_at, parse_region
from tickets.sla import ServiceHours, SlaPolicy, due_at

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = ServiceHours.parse("mon-fri 07:00-17:00, sat 09:00-12:00")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def test_regions() -> None:
    saxony, bavaria = Holidays("DE-SN"), Holidays("de-by")
    assert date(2026, 11, 18) in saxony and date(2026, 11, 18) not in bavaria  # Buß- und Bettag
    assert date(2026, 1, 6) in bavaria and date(2026, 1, 6) not in saxony  # Heilige Drei Könige
    assert date(2026, 12, 25) in saxony and saxony.name(date(2026, 12, 25))
    assert date(2026, 12, 23) not in saxony and "2026-12-25" not in saxony
    assert parse_region("") is None and parse_region("DE") == Holidays("DE")
    for bad in ("XX", "DE-XX", "Germany"):
        with pytest.raises(ValueError, match="holidays region"):
            Holidays(bad)
    assert pickle.loads(pickle.dumps(saxony)) == saxony  # the writer process gets it with the policy


@pytest.mark.parametrize(("now", "hours", "region", "is_open"), [
    (berlin(2026, 12, 23, 10, 0), OFFICE, "DE-SN", True),  # Wednesday
    (berlin(2026, 12, 25, 10, 0), OFFICE, "DE-SN", False),  # Christmas, a Friday
    (berlin(2026, 12, 25, 10, 0), OFFICE, "", True),  # no calendar: just the hours
    (berlin(2026, 12, 25, 10, 0), None, "DE-SN", False),  # 24/7 but a holiday
    (berlin(2026, 12, 19, 11, 59), OFFICE, "DE-SN", True),  # Saturday window
    (berlin(2026, 12, 19, 12, 0), OFFICE, "DE-SN", False),
    (berlin(2026, 12, 23, 6, 59), OFFICE, "DE-SN", False),
    (berlin(2026, 12, 20, 10, 0), OFFICE, "DE-SN", False),  # Sunday
])
def test_open_at(now: datetime, hours: ServiceHours | None, region: str, is_open: bool) -> None:
    assert open_at(now, hours, "Europe/Berlin", parse_region(region)) is is_open
    route = decide(CallerFacts("known", team="Werke"), ("Werke",), open_now=open_at(
        now, hours, "Europe/Berlin", parse_region(region)))
    assert (route.reason is Reason.CLOSED) is (not is_open)


def test_the_sla_clock_stops_on_holidays() -> None:
    saxony = Holidays("DE-SN")
    # Thu 24 Dec 16:00, 4 service hours: 1 h Thursday, Fri 25 + Sat 26 are holidays,
    # Sunday closed, so 3 h more on Mon 28 from 07:00 -> 10:00 CET
    created = berlin(2026, 12, 24, 16, 0)
    assert due_at(created, 4, OFFICE, "Europe/Berlin", saxony) == berlin(2026, 12, 28, 10, 0).astimezone(UTC)
    # without the calendar Saturday's window counts: 1 h Thu, 8 h... Fri 25 07:00 + 3 h
    assert due_at(created, 4, OFFICE, "Europe/Berlin") == berlin(2026, 12, 25, 10, 0).astimezone(UTC)
    # round the clock, a holiday still stops it: 24 h from Thu 24 Dec 12:00 -> Sun 27 12:00
    assert due_at(berlin(2026, 12, 24, 12, 0), 24, None, "Europe/Berlin", saxony) == \
        berlin(2026, 12, 27, 12, 0).astimezone(UTC)
    policy = SlaPolicy({Priority.CRITICAL: 4}, OFFICE, "Europe/Berlin", saxony)
    assert policy.due(created, Priority.CRITICAL) == berlin(2026, 12, 28, 10, 0).astimezone(UTC)
