"""SLA due times count service hours only, in local wall time, DST-correct; checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickets.models import Priority, TicketStatus
from tickets.sla import ServiceHours, SlaPolicy, due_at, is_overdue, remaining_seconds

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = ServiceHours.parse("mon-fri 07:00-17:00")


def berlin(y: int, mo: int, d: int, h: int, mi: int) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


def utc(y: int, mo: int, d: int, h: int, mi: int) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


@pytest.mark.parametrize(("created", "hours", "expected"), [
    # Fri 6 Mar 2026 15:00 CET: 2 h on Friday, 6 h on Monday from 07:00 -> Mon 13:00 CET = 12:00 UTC
    (berlin(2026, 3, 6, 15, 0), 8, utc(2026, 3, 9, 12, 0)),
    # Saturday: the clock starts Monday 07:00 CET (06:00 UTC); 4 h -> 11:00 CET
    (berlin(2026, 3, 7, 10, 0), 4, utc(2026, 3, 9, 10, 0)),
    # Friday evening after closing: 10 h = all of Monday -> Mon 17:00 CET
    (berlin(2026, 3, 6, 18, 30), 10, utc(2026, 3, 9, 16, 0)),
    # Tuesday 05:00, before opening: 4 h from 07:00 -> 11:00 CET
    (berlin(2026, 3, 3, 5, 0), 4, utc(2026, 3, 3, 10, 0)),
    # 24 h from Wed 12:00: Wed 5 h, Thu 10 h, Fri 9 h -> Fri 16:00 CET
    (berlin(2026, 3, 4, 12, 0), 24, utc(2026, 3, 6, 15, 0)),
    # 72 h from Mon 07:00: 7 working days + 2 h -> next Wed 09:00 CET (two weekends crossed)
    (berlin(2026, 3, 2, 7, 0), 72, utc(2026, 3, 11, 8, 0)),
    # exactly at closing time stays on that day
    (berlin(2026, 3, 6, 7, 0), 10, utc(2026, 3, 6, 16, 0)),
])
def test_due_counts_only_service_hours(created: datetime, hours: float, expected: datetime) -> None:
    got = due_at(created, hours, OFFICE, "Europe/Berlin")
    assert got == expected and got.tzinfo is UTC


def test_spring_forward_weekend_moves_the_utc_opening_time() -> None:
    # Fri 27 Mar 2026 16:00 CET: 1 h Friday; Sun 29 Mar clocks go to CEST;
    # Mon 30 Mar 07:00 CEST is 05:00 UTC, + 3 h -> 08:00 UTC (not 09:00 as with a fixed +01:00)
    assert due_at(berlin(2026, 3, 27, 16, 0), 4, OFFICE, "Europe/Berlin") == utc(2026, 3, 30, 8, 0)


def test_fall_back_sunday_has_25_service_hours() -> None:
    sundays = ServiceHours.parse("sun 00:00-24:00")
    start = berlin(2026, 10, 25, 0, 0)  # 24 Oct 22:00 UTC; clocks go back at 03:00 CEST
    assert due_at(start, 25, sundays, "Europe/Berlin") == utc(2026, 10, 25, 23, 0)
    # one more hour does not fit: next Sunday (1 Nov, CET) 01:00 = 00:00 UTC
    assert due_at(start, 26, sundays, "Europe/Berlin") == utc(2026, 11, 1, 0, 0)


def test_round_the_clock_is_real_elapsed_time_across_dst() -> None:
    created = berlin(2026, 3, 28, 12, 0)  # 11:00 UTC, the day before clocks spring forward
    expected = utc(2026, 3, 29, 11, 0)  # 13:00 CEST: 24 real hours, not 24 wall-clock hours
    for hours in (ServiceHours.parse("mon-sun 00:00-24:00"), ServiceHours.parse(""), None):
        assert due_at(created, 24, hours, "Europe/Berlin") == expected


def test_parse_round_the_clock_and_several_clauses() -> None:
    assert ServiceHours.parse("").always_open
    assert ServiceHours.parse("  ").always_open
    both = ServiceHours.parse("mon-fri 07:00-17:00, sat 09:00-12:00")
    assert len(both.windows) == 6 and both.windows[-1].weekday == 5
    # Fri 16:00 CET, 3 h: 1 h Friday, 2 h Saturday from 09:00 -> Sat 11:00 CET
    assert due_at(berlin(2026, 3, 6, 16, 0), 3, both, "Europe/Berlin") == utc(2026, 3, 7, 10, 0)


@pytest.mark.parametrize("text", ["mon-fri", "mon-fri 7-17", "fri-mon 07:00-17:00", "xyz 07:00-17:00",
                                  "mon-fri 17:00-07:00", "mon 24:30-25:00", "mon 07:60-08:00",
                                  "mon-fri 07:00-17:00,"])
def test_bad_service_hours_are_refused_clearly(text: str) -> None:
    with pytest.raises(ValueError, match="service hours"):
        ServiceHours.parse(text)


def test_naive_times_negative_hours_and_unknown_zones_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(datetime(2026, 3, 6, 15, 0), 8, OFFICE, "Europe/Berlin")
    with pytest.raises(ValueError, match="negative"):
        due_at(utc(2026, 3, 6, 15, 0), -1, OFFICE, "Europe/Berlin")
    with pytest.raises(ValueError, match="time zone"):
        SlaPolicy({Priority.NORMAL: 8}, OFFICE, "Mars/Olympus")


def test_policy_due_per_priority() -> None:
    policy = SlaPolicy.from_hours(4, 8, 24, 72, "mon-fri 07:00-17:00", "Europe/Berlin")
    created = berlin(2026, 3, 6, 15, 0)
    assert policy.due(created, Priority.CRITICAL) == utc(2026, 3, 9, 8, 0)  # 2 h Fri + 2 h Mon
    assert policy.due(created, "high") == utc(2026, 3, 9, 12, 0)
    assert SlaPolicy({Priority.HIGH: 1}).due(created, Priority.LOW) is None  # no target, no due time


def test_overdue_and_remaining() -> None:
    due = utc(2026, 3, 9, 12, 0)
    before, after = due - timedelta(minutes=30), due + timedelta(seconds=1)
    assert not is_overdue(due, TicketStatus.OPEN, before)
    assert not is_overdue(due, "open", due)  # due at, not past
    assert is_overdue(due, TicketStatus.NEW, after) and is_overdue(due, "pending", after)
    assert not is_overdue(due, TicketStatus.RESOLVED, after)
    assert not is_overdue(due, "closed", after)
    assert not is_overdue(None, "open", after)
    assert remaining_seconds(due, "open", before) == 1800.0
    assert remaining_seconds(due, "open", after) == -1.0
    assert remaining_seconds(due, "closed", after) is None and remaining_seconds(None, "new", after) is None
