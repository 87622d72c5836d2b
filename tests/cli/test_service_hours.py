from __future__ import annotations

import pytest

from hotline_cli.asterisk import service_hours_to_asterisk


@pytest.mark.parametrize(("given", "want"), [
    ("", "*"), ("mon-fri 07:00-17:00", "07:00-17:00,mon-fri,*,*"),
    ("07:00-17:00", "07:00-17:00,*,*,*"), ("Sat 09:00-12:00", "09:00-12:00,sat,*,*"),
])
def test_service_hours(given: str, want: str) -> None:
    assert service_hours_to_asterisk(given) == want


@pytest.mark.parametrize("bad", ["always", "mon-fri", "7-17", "mon-fri 07:00-17:00;Dial(x)"])
def test_bad_service_hours_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="service hours"):
        service_hours_to_asterisk(bad)
