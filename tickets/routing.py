"""Routing by the caller-ID match: which agents, which language, which priority.

Layer: domain, pure (no I/O, no clock). The FastAGI `route` script
(agent_console/agi_routes.py) feeds it what the lookup found and sends the
answer to the dialplan as channel variables.

The model: ONE Asterisk queue (`hotline`) and member penalties, not one queue
per focus team. Everything that follows calls (the bridge, the live queue
projection, the wallboard's service level, pause and queue login, queue_log
reconciliation) follows that one queue, and an agent logs in once. A focus team
is a band of penalties: the n-th team of HOTLINE_FOCUS_TEAMS (1-based) is
10*n .. 10*n+3, the last digit the languages the agent speaks (1 German only,
2 both, 3 English only; 0 = team without a language preference is never used).
An agent without a focus team (a generalist) is band 0: penalty 1, 2 or 3 the
same way (0 only for a member nobody logged in with hotline's penalty). A routed
caller gets QUEUE_MIN_PENALTY / QUEUE_MAX_PENALTY: a German caller of team n
reaches penalties 10n+1..10n+2, an English one 10n+2..10n+3, so only that team's
agents who speak the caller's language ring. A caller hotline does not know as
one contact (unknown, withheld, ambiguous) who chose a language in the caller
dialogue (Reason.LANGUAGE) is routed the same way to band 0: 1..2 German, 2..3
English, the generalists who speak it (one penalty per agent cannot also pick
"every team's English speakers": those ranges are not contiguous). After
`OVERFLOW_SECONDS` the queue rule `hotline-overflow` (queuerules.conf) lifts
both limits: nobody waits past the promise for a band that is all busy or
logged out. A known contact whose team is not a focus team is routed to the
generalists who speak the contact's language the same way (Reason.GENERALISTS),
when members of band 0 who speak it are logged in. Callers who chose nothing, and
such contacts without a language or whose language no generalist speaks, get no
limits (every agent). The price of one queue: an agent has
one penalty, so an agent of several teams is routed as a member of the first of
them in HOTLINE_FOCUS_TEAMS.

Priority (QUEUE_PRIO): a caller with an open critical ticket or a VIP flag
(contact or organisation) waits ahead of the others.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

LANGUAGES = ("de", "en")
BAND = 10
PRIORITY_BUMP = 10
OVERFLOW_RULE = "hotline-overflow"
OVERFLOW_SECONDS = 20  # queuerules.conf [hotline-overflow]: limits lifted after this wait


class Reason(enum.StrEnum):
    TEAM = "team"  # known contact of a focus team
    NO_TEAM = "no_team"  # known, but their team is not a focus team (or none), language unknown
    GENERALISTS = "generalists"  # known, no focus team: the generalists who speak their language
    AMBIGUOUS = "ambiguous"
    LANGUAGE = "language"  # not known as one contact, chose a language: the generalists who speak it
    UNKNOWN = "unknown"
    WITHHELD = "withheld"
    CLOSED = "closed"  # outside service hours or a public holiday
    FALLBACK = "fallback"  # hotline was late or failed: the plain queue


@dataclass(frozen=True, slots=True)
class CallerFacts:
    """What the lookup knows about the caller (status as tickets.lookup.MatchStatus)."""

    status: str  # known | ambiguous | unknown | withheld
    team: str = ""  # the contact's own team, else their organisation's
    language: str = ""  # de | en ("" unknown)
    vip: bool = False
    critical_open: bool = False  # an open ticket of priority critical
    chosen: bool = False  # `language` is what the caller keyed in the caller dialogue


@dataclass(frozen=True, slots=True)
class Route:
    reason: Reason
    team: str = ""  # the focus team the caller was routed to ("" = every agent)
    language: str = "de"
    priority: int = 0
    priority_reason: str = ""  # vip | critical_ticket
    min_penalty: int | None = None
    max_penalty: int | None = None
    open: bool = True

    def variables(self, queue: str) -> list[tuple[str, str]]:
        """The channel variables the dialplan reads (extensions.conf [hotline-5555]).
        Each is one AGI round trip, so the band's four are sent only for a route with
        penalty limits, a team's or a chosen language's (HOTLINE_TEAM "" for the latter;
        the dialplan sets HOTLINE_ROUTED and HOTLINE_QUEUE_RULE empty before AGI())."""
        team = [("HOTLINE_TEAM", self.team), ("HOTLINE_MIN_PENALTY", str(self.min_penalty)),
                ("HOTLINE_MAX_PENALTY", str(self.max_penalty)), ("HOTLINE_QUEUE_RULE", OVERFLOW_RULE)]
        limits = self.min_penalty is not None and self.max_penalty is not None
        return [("HOTLINE_QUEUE", queue), ("HOTLINE_LANGUAGE", self.language),
                ("HOTLINE_PRIORITY", str(self.priority)), ("HOTLINE_ROUTE_REASON", self.reason.value),
                ("HOTLINE_OPEN", "1" if self.open else "0"), *(team if limits else []),
                ("HOTLINE_ROUTED", "1")]  # last: the dialplan trusts only a complete answer


def parse_teams(text: str) -> tuple[str, ...]:
    """HOTLINE_FOCUS_TEAMS: comma-separated, order fixes the penalty bands (append only)."""
    teams = tuple(t.strip() for t in text.split(",") if t.strip())
    folded = [t.casefold() for t in teams]
    if len(set(folded)) != len(folded):
        raise ValueError(f"focus teams {text!r}: a team is listed twice")
    if len(teams) > 99:
        raise ValueError("at most 99 focus teams")
    return teams


def _band(team: str, teams: Sequence[str]) -> int | None:
    folded = [t.casefold() for t in teams]
    key = team.strip().casefold()
    return (folded.index(key) + 1) * BAND if key and key in folded else None


def member_penalty(user_teams: Iterable[str], languages: Iterable[str], teams: Sequence[str]) -> int:
    """The queue penalty an agent logs in with (first focus team in `teams` order)."""
    bands = [b for t in user_teams if (b := _band(t, teams)) is not None]
    spoken = {lang.strip().lower() for lang in languages} & set(LANGUAGES)
    digit = 3 if spoken == {"en"} else 2 if spoken == {"de", "en"} else 1
    return min(bands, default=0) + digit


def _limits(band: int, language: str) -> tuple[int, int]:
    """The penalties of the band's agents who speak `language` (the last digit 1..3)."""
    return (band + 2, band + 3) if language == "en" else (band + 1, band + 2)


def languages_reached(penalties: Iterable[int]) -> frozenset[str]:
    """The languages band 0 covers among queue members with these penalties (what the
    FastAGI script reads from the members logged in: one whose penalty is 0, e.g. logged in
    without hotline, is reached by no language's band)."""
    band0 = {p for p in penalties if p < BAND}
    return frozenset(lang for lang in LANGUAGES if any(_reaches(_limits(0, lang), p) for p in band0))


def _reaches(limits: tuple[int, int], penalty: int) -> bool:
    return limits[0] <= penalty <= limits[1]


def decide(facts: CallerFacts, teams: Sequence[str], open_now: bool = True,
           default_language: str = "de", generalists: Collection[str] | None = None) -> Route:
    """`generalists`: the languages agents without a focus team speak (None: not known, taken
    as all). A caller who chose a language none of them speaks rings every agent at once
    instead of nobody until the overflow."""
    language = facts.language if facts.language in LANGUAGES else default_language
    bump = ("critical_ticket" if facts.critical_open else "vip" if facts.vip else "")
    priority = PRIORITY_BUMP if bump else 0
    if not open_now:
        return Route(Reason.CLOSED, language=language, open=False)
    if facts.status != "known":
        # an ambiguous match may still be one organisation's VIP: its priority stands
        if facts.chosen and facts.language in LANGUAGES and (generalists is None or language in generalists):
            low, high = _limits(0, language)
            return Route(Reason.LANGUAGE, language=language, priority=priority, priority_reason=bump,
                         min_penalty=low, max_penalty=high)
        reason = {"ambiguous": Reason.AMBIGUOUS, "withheld": Reason.WITHHELD}.get(facts.status, Reason.UNKNOWN)
        return Route(reason, language=language, priority=priority, priority_reason=bump)
    band = _band(facts.team, teams)
    if band is None:
        # a known language: the generalists who speak it, as for a caller who chose it, but
        # only when they are known to be there (else every agent, as before)
        if facts.language in LANGUAGES and generalists is not None and language in generalists:
            low, high = _limits(0, language)
            return Route(Reason.GENERALISTS, language=language, priority=priority, priority_reason=bump,
                         min_penalty=low, max_penalty=high)
        return Route(Reason.NO_TEAM, language=language, priority=priority, priority_reason=bump)
    low, high = _limits(band, language)
    return Route(Reason.TEAM, team=teams[band // BAND - 1], language=language, priority=priority,
                 priority_reason=bump, min_penalty=low, max_penalty=high)


def fallback_route(default_language: str = "de") -> Route:
    """What the dialplan does when hotline does not answer in time: the plain queue."""
    return Route(Reason.FALLBACK, language=default_language)
