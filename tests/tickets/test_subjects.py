"""The automatic subject of a call's ticket: the caller's language, a withheld number in words."""

from __future__ import annotations

import pytest

from tickets.subjects import call_subject


@pytest.mark.parametrize(("raw", "number", "language", "subject"), [
    ("0341 2538-5588", "+4934125385588", None, "Anruf von 0341 2538-5588"),
    ("0341 2538-5588", "+4934125385588", "de", "Anruf von 0341 2538-5588"),
    ("0341 2538-5588", "+4934125385588", "en", "Call from 0341 2538-5588"),
    ("anonymous", None, None, "Anruf mit unterdrückter Rufnummer"),
    ("Anonymous", None, "en", "Call from a withheld number"),
    ("", None, "de", "Anruf mit unterdrückter Rufnummer"),
    (None, "+4930901820", "fr", "Anruf von +4930901820"),
])
def test_subject(raw: str | None, number: str | None, language: str | None, subject: str) -> None:
    assert call_subject(raw, number, language) == subject
