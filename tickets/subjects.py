"""The automatic subject of a call's ticket, in the caller's language.

Layer: pure (no I/O). German unless the matched contact speaks English (the hotline's
default language, as HOTLINE_DEFAULT_REGION DE); a withheld number is said in words,
never as Asterisk's "anonymous".
"""

from __future__ import annotations

WITHHELD_RAW = frozenset({"", "anonymous", "unknown", "unavailable", "withheld", "private", "restricted"})
_TEXT = {
    "de": ("Anruf von {number}", "Anruf mit unterdrückter Rufnummer"),
    "en": ("Call from {number}", "Call from a withheld number"),
}
MAX_SUBJECT = 300


def call_subject(caller_raw: str | None, caller_number: str | None, language: str | None = None) -> str:
    """"Anruf von 0341 2538-5588" (the number as the caller sent it), or the withheld text."""
    known, withheld = _TEXT.get(language or "de", _TEXT["de"])
    raw = (caller_raw or "").strip()
    if not caller_number and raw.lower() in WITHHELD_RAW:
        return withheld
    return known.format(number=raw or caller_number)[:MAX_SUBJECT]
