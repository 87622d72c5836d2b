"""Caller-ID normalisation (pure, no I/O).

Layer: domain helper. Must not import from the rest of the project.

`normalize(raw, default_region)` turns whatever Asterisk put in CallerIDNum
into a `CallerNumber`: an E.164 string when it is a dialable number, the digits
of an internal extension, or a withheld/invalid verdict. Matching against
stored contacts is an indexed equality lookup on `e164` (or `extension`).
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

import phonenumbers

WITHHELD_TOKENS = frozenset(
    {"", "anonymous", "restricted", "<unknown>", "unknown", "private", "unavailable", "withheld"}
)
MAX_EXTENSION_DIGITS = 6
MAX_RAW_LENGTH = 64
_STRIP = re.compile(r"[\s\-/().]")
_NATIONAL_TRUNK_IN_PARENS = re.compile(r"\(0\)")


class NumberKind(enum.StrEnum):
    NUMBER = "number"
    EXTENSION = "extension"
    WITHHELD = "withheld"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class CallerNumber:
    raw: str
    kind: NumberKind
    e164: str | None = None
    extension: str | None = None


def normalize(raw: str | None, default_region: str = "DE") -> CallerNumber:
    text = (raw or "").strip()
    if len(text) > MAX_RAW_LENGTH or any(not ch.isprintable() for ch in text):
        # CR/LF/NUL never belong in a number: say so instead of guessing
        return CallerNumber(raw=text[:MAX_RAW_LENGTH].encode("unicode_escape").decode(),
                            kind=NumberKind.INVALID)
    if text.lower() in WITHHELD_TOKENS:
        return CallerNumber(raw=text, kind=NumberKind.WITHHELD)
    if any(ch.isalpha() for ch in text):
        # phonenumbers reads letters as a keypad's ("0341-FLOWERS") and skips words: "call me
        # at 12" would become +4912. Neither a caller ID nor a contact's number has letters.
        return CallerNumber(raw=text, kind=NumberKind.INVALID)
    cleaned = _STRIP.sub("", _NATIONAL_TRUNK_IN_PARENS.sub("", text))
    if cleaned.isdigit() and len(cleaned) <= MAX_EXTENSION_DIGITS and not cleaned.startswith("0"):
        return CallerNumber(raw=text, kind=NumberKind.EXTENSION, extension=cleaned)
    if cleaned.startswith("00") and cleaned[2:].isdigit():
        cleaned = "+" + cleaned[2:]
    try:
        parsed = phonenumbers.parse(cleaned, default_region.upper())
    except phonenumbers.NumberParseException:
        return CallerNumber(raw=text, kind=NumberKind.INVALID)
    if not phonenumbers.is_possible_number(parsed):
        return CallerNumber(raw=text, kind=NumberKind.INVALID)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return CallerNumber(raw=text, kind=NumberKind.NUMBER, e164=e164)


@functools.lru_cache(maxsize=8192)
def readable(e164: str | None) -> str | None:
    """A normalised number as a person reads it back to the caller: grouped the way its
    country writes it, in international form (`+4934125385555` -> `+49 341 25385555`,
    `+441632960123` -> `+44 1632 960123`); None stays None, anything else as it is.
    Cached: a parse is ~20 µs, and every queue update shows each waiting caller again
    (150 callers, 4 updates a second: 12 ms a second of the event loop without it)."""
    if not e164 or not e164.startswith("+"):
        return e164
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164
