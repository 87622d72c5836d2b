"""Resolution targets per level: service-time arithmetic across nights, weekends, public
holidays and DST changes (Europe/Berlin, office hours, German holidays), checked by hand;
and the time a ticket spent at each level. Pure: no database, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.models import Priority
from tickets.service_calendar import Holidays
from tickets.sla import ServiceHours, SlaPolicy
from tickets.targets import WHOLE, level_times, pick_hours, service_seconds, target_due

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = SlaPolicy({p: 24.0 for p in Priority}, ServiceHours.parse("mon-fri 07:00-17:00"), "Europe/Berlin",
                   Holidays("DE"))
ROUND_THE_CLOCK = SlaPolicy({p: 24.0 for p in Priority}, None, "Europe/Berlin")


def berlin(mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, mo, d, h, mi, tzinfo=BERLIN)


def utc(mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, mo, d, h, mi, tzinfo=UTC)


@pytest.mark.parametrize(("start", "hours", "expected"), [
    # overnight: Tue 16:00 CET, 1 h left on Tuesday, 3 h from Wed 07:00 -> Wed 10:00 CET
    (berlin(3, 3, 16), 4, utc(3, 4, 9)),
    # weekend: Fri 15:00 CET, 2 h on Friday, 6 h on Monday -> Mon 13:00 CET
    (berlin(3, 6, 15), 8, utc(3, 9, 12)),
    # entered on Saturday: the clock starts Monday 07:00 CET
    (berlin(3, 7, 11), 2, utc(3, 9, 8)),
    # Easter 2026: Thu 2 Apr 15:00 CEST, 2 h; Good Friday, the weekend and Easter Monday are
    # closed; 6 h on Tue 7 Apr -> 13:00 CEST = 11:00 UTC
    (berlin(4, 2, 15), 8, utc(4, 7, 11)),
    # 1 May (Friday) is a holiday: Thu 30 Apr 16:00 CEST, 1 h, then Mon 4 May 07:00 + 3 h
    (berlin(4, 30, 16), 4, utc(5, 4, 8)),
    # DST ends on Sun 25 Oct: Fri 23 Oct 15:00 CEST (13:00 UTC), 2 h on Friday, 2 h on Monday
    # from 07:00 CET = 06:00 UTC (not 05:00: the offset changed over the weekend) -> 08:00 UTC
    (berlin(10, 23, 15), 4, utc(10, 26, 8)),
    # DST starts on Sun 29 Mar: Fri 27 Mar 16:00 CET, 1 h; Monday 07:00 CEST = 05:00 UTC, + 1 h
    (berlin(3, 27, 16), 2, utc(3, 30, 6)),
])
def test_target_due_in_office_hours(start: datetime, hours: float, expected: datetime) -> None:
    assert target_due(start, hours, OFFICE) == expected
    assert service_seconds(start, expected, OFFICE.service_hours, OFFICE.tz, OFFICE.holidays) == hours * 3600


def test_a_window_across_the_spring_dst_change_is_as_long_as_it_really_was() -> None:
    # Sunday 29 Mar 2026 00:00-06:00 local: 00:00 CET (23:00 UTC) to 06:00 CEST (04:00 UTC) = 5 real hours
    night = SlaPolicy({}, ServiceHours.parse("sun 00:00-06:00"), "Europe/Berlin")
    assert target_due(berlin(3, 28, 12), 5, night) == utc(3, 29, 4)
    # 0.5 h into the next Sunday: 5 Apr 00:00 CEST = 4 Apr 22:00 UTC
    assert target_due(berlin(3, 28, 12), 5.5, night) == utc(4, 4, 22, 30)
    assert service_seconds(berlin(3, 28, 0), berlin(3, 30, 0), night.service_hours, night.tz) == 5 * 3600
    # and in autumn the same window is 7 real hours (02:00-03:00 happens twice)
    assert service_seconds(berlin(10, 24, 0), berlin(10, 26, 0), night.service_hours, night.tz) == 7 * 3600


def test_round_the_clock_targets_are_real_elapsed_time_across_dst() -> None:
    start = berlin(3, 28, 12)  # 11:00 UTC; the night has only 23 hours
    assert target_due(start, 24, ROUND_THE_CLOCK) == utc(3, 29, 11)
    assert service_seconds(start, berlin(3, 29, 12), None, "Europe/Berlin") == 23 * 3600


def test_no_target_is_no_due_time() -> None:
    assert target_due(berlin(3, 3, 9), None, OFFICE) is None


@settings(max_examples=150, deadline=None)
@given(start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
       minutes=st.integers(1, 200 * 60))
def test_service_time_up_to_the_due_time_is_the_target(start: datetime, minutes: int) -> None:
    due = target_due(start, minutes / 60, OFFICE)
    assert due is not None and due > start
    assert abs(service_seconds(start, due, OFFICE.service_hours, OFFICE.tz, OFFICE.holidays) - minutes * 60) < 1e-6


def test_an_organisations_own_target_wins_over_the_default() -> None:
    targets = {(None, "normal", 2): 8.0, (7, "normal", 2): 4.0, (None, "high", WHOLE): 16.0}
    assert pick_hours(targets, 7, "normal", 2) == 4.0
    assert pick_hours(targets, 8, "normal", 2) == 8.0  # no own target: the default
    assert pick_hours(targets, None, "normal", 2) == 8.0
    assert pick_hours(targets, 7, "high", WHOLE) == 16.0
    assert pick_hours(targets, 7, "low", 2) is None


def test_time_at_each_level_wall_clock_and_service_hours() -> None:
    created = berlin(3, 2, 8)  # Monday
    changes = [(berlin(3, 3, 8), 3), (berlin(3, 2, 10), 2)]  # out of order on purpose
    got = {t.level: (t.seconds, t.service_seconds) for t in level_times(created, changes, berlin(3, 3, 12), OFFICE)}
    assert got == {1: (2 * 3600, 2 * 3600),  # Mon 08-10
                   2: (22 * 3600, 8 * 3600),  # Mon 10 - Tue 08: 7 h Monday, 1 h Tuesday
                   3: (4 * 3600, 4 * 3600)}  # Tue 08-12


def test_time_at_levels_of_a_ticket_over_a_holiday_weekend() -> None:
    created = berlin(4, 2, 16)  # Thu before Easter
    got = level_times(created, [(berlin(4, 7, 8), 2)], berlin(4, 7, 9), OFFICE)
    assert [(t.level, t.seconds, t.service_seconds) for t in got] == [
        (1, (berlin(4, 7, 8) - created).total_seconds(), 2 * 3600),  # Thu 16-17, Tue 07-08
        (2, 3600.0, 3600.0)]


def test_a_change_before_creation_or_after_the_end_is_clamped() -> None:
    created = berlin(3, 2, 8)
    got = level_times(created, [(created - timedelta(hours=1), 2)], berlin(3, 2, 9), ROUND_THE_CLOCK)
    assert [(t.level, t.seconds) for t in got] == [(1, 0.0), (2, 3600.0)]
