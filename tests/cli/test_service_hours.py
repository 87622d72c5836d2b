from __future__ import annotations

from datetime import date

import pytest

from hotline_cli.asterisk import (
    PbxConfig,
    PrivateAsterisk,
    holiday_specs,
    new_agent_passwords,
    service_hours_specs,
    service_hours_to_asterisk,
)


@pytest.mark.parametrize(("given", "want"), [
    ("", "*"), ("mon-fri 07:00-17:00", "07:00-17:00,mon-fri,*,*"),
    ("07:00-17:00", "07:00-17:00,mon-sun,*,*"), ("Sat 09:00-12:00", "09:00-12:00,sat,*,*"),
])
def test_service_hours(given: str, want: str) -> None:
    assert service_hours_to_asterisk(given) == want


@pytest.mark.parametrize(("given", "want"), [
    # the setting that made `hotline asterisk up` raise
    ("mon-fri 07:00-17:00, sat 09:00-12:00", ["07:00-17:00,mon-fri,*,*", "09:00-12:00,sat,*,*"]),
    # several windows a day (a lunch break), and days with the same hours joined into ranges
    ("mon-fri 08:00-12:00, mon-fri 13:00-17:00, sat 08:00-12:00",
     ["08:00-12:00,mon-sat,*,*", "13:00-17:00,mon-fri,*,*"]),
    ("mon 07:00-17:00, wed 07:00-17:00, thu 07:00-17:00", ["07:00-17:00,mon,*,*", "07:00-17:00,wed-thu,*,*"]),
    ("mon-sun 00:00-24:00", ["00:00-23:59,mon-sun,*,*"]),
])
def test_several_windows_per_day_and_week(given: str, want: list[str]) -> None:
    assert service_hours_specs(given) == want


@pytest.mark.parametrize("bad", ["always", "mon-fri", "7-17", "mon-fri 07:00-17:00;Dial(x)",
                                 "mon-fri 07:00-17:00, sat", "mon-fri 07:00-17:00,,"])
def test_bad_service_hours_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="service hours"):
        service_hours_to_asterisk(bad)


def test_specs_name_the_time_zone() -> None:
    assert service_hours_specs("sat 09:00-12:00", "Europe/Berlin") == ["09:00-12:00,sat,*,*,Europe/Berlin"]
    assert service_hours_specs("", "Europe/Berlin") == ["*"]
    assert holiday_specs("DE-SN", date(2026, 12, 1), timezone="Europe/Berlin")[0] == "*,*,25,dec,Europe/Berlin"
    with pytest.raises(ValueError, match="time zone"):
        service_hours_specs("sat 09:00-12:00", "Mars/Olympus")


def test_holidays_become_closed_days_for_the_next_twelve_months() -> None:
    specs = holiday_specs("DE-SN", date(2026, 12, 1))
    assert specs[:2] == ["*,*,25,dec", "*,*,26,dec"]
    assert "*,*,18,nov" not in specs[:3]  # Buß- und Bettag 2026 has passed; 2027's is 17 Nov
    assert "*,*,17,nov" in specs and "*,*,26,mar" in specs  # Good Friday 2027
    assert holiday_specs("DE-BY", date(2026, 12, 1)) != specs  # Bavaria: Epiphany, no Buß- und Bettag
    assert "*,*,6,jan" in holiday_specs("DE-BY", date(2026, 12, 1))
    assert holiday_specs("", date(2026, 12, 1)) == []
    with pytest.raises(ValueError, match="holidays region"):
        holiday_specs("DE-XX", date(2026, 12, 1))


def test_rendered_dialplan_has_every_window_and_holiday() -> None:
    hours = service_hours_specs("mon-fri 07:00-17:00, sat 09:00-12:00")
    pbx = PrivateAsterisk(PbxConfig(name="render-test", ami_secret="a-secret-of-16chars",
                                    agent_passwords=new_agent_passwords(), service_hours=hours[0],
                                    service_hours_more=tuple(hours[1:]),
                                    closed_days=("*,*,25,dec", "*,*,26,dec")))
    values = pbx._values()
    assert values["SERVICE_HOURS"] == "07:00-17:00,mon-fri,*,*"
    assert values["SERVICE_HOURS_MORE"] == " same => n,GotoIfTime(09:00-12:00,sat,*,*?open)"
    assert values["HOLIDAYS"].splitlines() == [" same => n,GotoIfTime(*,*,25,dec?closed)",
                                               " same => n,GotoIfTime(*,*,26,dec?closed)"]
    bad = PrivateAsterisk(PbxConfig(name="render-test", ami_secret="a-secret-of-16chars",
                                    agent_passwords=new_agent_passwords(), closed_days=("*)\nexten=>x",)))
    with pytest.raises(ValueError, match="GotoIfTime"):
        bad._values()
