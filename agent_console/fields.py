"""Field types for request bodies and query parameters: what a person may type.

Layer: edge (pydantic types only; no I/O). Text is refused, with a 422 naming
the field, when it holds what no help-desk text needs and what breaks things
later: NUL (PostgreSQL cannot store it), lone surrogates (no UTF-8 encoding:
the driver raised, a 500), control characters, Unicode line and
paragraph separators and bidirectional overrides (U+202E makes "exe.txt" read
"txt.exe" in the console and in mail). One-line fields (subject, category,
names) also refuse line breaks; multi-line notes keep \\n, \\r\\n and tabs.
Times must carry a time zone and lie within years 1900-2999 (an offset at year 1
overflowed the driver: a 500).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_SEPARATORS = frozenset("\u2028\u2029\u0085")
_NOTE_BREAKS = frozenset("\n\r\t")
EARLIEST, LATEST = 1900, 2999


def _bad_character(value: str, allowed: frozenset[str]) -> str | None:
    for ch in value:
        if ch in allowed:
            continue
        if ch in _BIDI_CONTROLS:
            return f"the direction control U+{ord(ch):04X} is not allowed"
        if unicodedata.category(ch) == "Cs":
            return f"the lone surrogate U+{ord(ch):04X} is not text (it has no UTF-8 encoding)"
        if ch in _SEPARATORS or unicodedata.category(ch) == "Cc":
            return f"the control character U+{ord(ch):04X} is not allowed" + (
                "; this field is one line" if ch in _NOTE_BREAKS else "")
    return None


def one_line(value: str) -> str:
    problem = _bad_character(value, frozenset())
    if problem:
        raise ValueError(problem)
    return value


def note_text(value: str) -> str:
    problem = _bad_character(value, _NOTE_BREAKS)
    if problem:
        raise ValueError(problem)
    return value


def aware_time(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give a time zone, e.g. 2026-11-23T08:00:00+01:00")
    if not EARLIEST <= value.year <= LATEST:
        raise ValueError(f"the year must lie between {EARLIEST} and {LATEST}")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"the year must lie between {EARLIEST} and {LATEST}") from exc


OneLine = Annotated[str, AfterValidator(one_line)]
Notes = Annotated[str, AfterValidator(note_text)]
AwareTime = Annotated[datetime, AfterValidator(aware_time)]
