"""The dial allow-list: which numbers click-to-dial and transfer may reach.

Layer: domain (pure). Must not import from the rest of the project.
One list of Asterisk extension patterns (HOTLINE_DIAL_ALLOW, e.g.
`10XX,5555,0[1-9]XXXXX.`) serves both ends: cti.actions checks every number
here before an Originate or BlindTransfer is built, and `hotline asterisk up`
renders the same patterns into the `agents` dialplan context, so a desk phone
cannot dial around the console. The default reaches the agents' extensions and
the hotline only; a site lists its external numbers itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_DIAL_ALLOW = "10XX,5555"
_MAX_PATTERN = 40

# One pattern element, as Asterisk's dialplan reads it: a literal (digit, * # +),
# X (0-9), Z (1-9), N (2-9), a class of digits and digit ranges, or, last only,
# `.` (one or more characters) / `!` (zero or more).
_ELEMENT = re.compile(r"[0-9*#+]|[XZN]|\[(?:[0-9](?:-[0-9])?)+\]")
_CLASS_RANGE = re.compile(r"([0-9])-([0-9])")
_WILDCARD = {".": ".+", "!": ".*"}
_LETTER = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


class DialRefused(ValueError):
    """A number the allow-list does not reach (the HTTP edge answers 422)."""


def _pattern_regex(pattern: str, shown: str) -> str:
    """`0[1-9]X.` -> `0[1-9][0-9].+`; ValueError naming the pattern as given (`shown`)
    if Asterisk would read it differently or it could break the dialplan it goes into."""
    body, tail = (pattern[:-1], pattern[-1]) if pattern[-1:] in _WILDCARD else (pattern, "")
    out, pos = [], 0
    while pos < len(body):
        m = _ELEMENT.match(body, pos)
        if m is None:
            raise ValueError(f"dial allow-list pattern {shown!r}: unexpected {body[pos]!r} at {pos + 1} "
                             "(use digits, * # +, X Z N, [1-5] classes, and . or ! at the end)")
        token = m.group()
        if token.startswith("["):
            for lo, hi in _CLASS_RANGE.findall(token):
                if lo > hi:
                    raise ValueError(f"dial allow-list pattern {shown!r}: range {lo}-{hi} runs backwards")
        out.append(_LETTER.get(token, token if token.startswith("[") else re.escape(token)))
        pos = m.end()
    if not out:
        raise ValueError(f"dial allow-list pattern {shown!r}: needs at least one digit or X/Z/N before . or !")
    return "".join(out) + _WILDCARD.get(tail, "")


@dataclass(frozen=True, slots=True)
class DialAllowList:
    """Parsed patterns (without Asterisk's leading `_`) and the one regex they make."""

    patterns: tuple[str, ...]
    _regex: re.Pattern[str] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, spec: str) -> DialAllowList:
        """`"10XX, 5555, _0[1-9]X."` -> the list; empty means nothing may be dialled."""
        patterns: list[str] = []
        alternatives: list[str] = []
        for raw in spec.split(","):
            shown = raw.strip()
            if not shown:
                continue
            pattern = shown.removeprefix("_").upper()  # Asterisk reads x, z, n as X, Z, N
            if len(pattern) > _MAX_PATTERN:
                raise ValueError(f"dial allow-list pattern {shown!r}: at most {_MAX_PATTERN} characters")
            alternatives.append(f"(?:{_pattern_regex(pattern, shown)})")
            patterns.append(pattern)
        # fullmatch over the alternatives; `(?!)` matches nothing (an empty list)
        return cls(tuple(patterns), re.compile("|".join(alternatives) or "(?!)"))

    def allows(self, number: str) -> bool:
        return self._regex.fullmatch(number) is not None

    def refusal(self, number: str) -> str | None:
        """None when the list reaches the number, else why not, without the number itself
        (for a callback item and a log line that must not carry a caller's number)."""
        if self.allows(number):
            return None
        return f"not on this hotline's dial allow-list (allowed: {', '.join(self.patterns) or 'nothing'})"

    def check(self, number: str) -> str:
        """The number itself when the list reaches it, else DialRefused saying what would."""
        reason = self.refusal(number)
        if reason is not None:
            raise DialRefused(f"{number!r} is {reason}")
        return number

    def reaches_external(self) -> bool:
        """True when a pattern can match a number outside the PBX: one starting with 0 or +
        (the `agents` dialplan sends those to the trunk), i.e. its first element is 0, +, X
        or a class holding 0."""
        return any(p[0] in "0+X" or (p[0] == "[" and re.fullmatch(p[:p.index("]") + 1], "0") is not None)
                   for p in self.patterns)

    def dialplan_patterns(self) -> tuple[str, ...]:
        """The patterns as dialplan extensions (`_10XX`), for the `agents` context."""
        return tuple(f"_{p}" for p in self.patterns)
