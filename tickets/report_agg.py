"""Pre-aggregated report figures: additive sums per local day and group, and what is
computed from them (issue 18, reports over a year in about a second).

Layer: domain, pure (no I/O, no clock). Must not import agent_console.

An aggregate row is keyed (local day, dim, value, queue, level, priority): `dim` is
"" for the desk-wide total (then level and priority are the ticket's, for the
resolution table) or one of the report's groups (queue, organisation, team,
channel, category, level, language, hour, weekday, site, partner; then level and
priority are ""); `queue` is the call's queue (AHT adds the queue's wrap-up time at
read time), "" on ticket rows. A new group is one more dim value, no new column
(bump report_agg_models.LAYOUT so aggregates built without it are rebuilt).
A row holds only additive figures, plus two mergeable ones: the longest wait
(max) and the agents who answered, as up to four pseudonyms or "*" for five and
more (the privacy rule needs "1 to 4 agents", never their figures). Times to
resolve are kept as a histogram per row (RESOLVE_RESOLUTION): a median or p90 is
exact when its bin holds one ticket or equal times, else interpolated inside the
bin. Open tickets with a due time are kept as count, earliest and latest due, so
the SLA attainment can be judged at any `as_of` (a day whose open tickets fall
due around `as_of` is computed from raw rows).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tickets.report_build import Facts
from tickets.report_facts import CallbackFact, CallFact, TicketFact
from tickets.report_figures import GROUPS, MIN_GROUP, ReportRules, fcr_by_ticket, group_key

DIMS = ("", *GROUPS)
ALL_AGENTS = "*"  # five or more agents: the group is shown
RESOLVE_RESOLUTION = {
    "en": "Median and 90th percentile of the time to resolve are exact to the minute under a day, to "
          "15 minutes under 30 days, to the day beyond (tickets resolved in the same such interval).",
    "de": "Median und 90. Perzentil der Lösungszeit sind unter einem Tag auf die Minute genau, unter "
          "30 Tagen auf 15 Minuten, darüber auf den Tag (Tickets, die im selben Intervall gelöst wurden).",
}
Key = tuple[date, str, str, str, str, str]  # day, dim, value, queue, level, priority


@dataclass(slots=True)
class Sums:
    """One aggregate row's figures (mutable while it is summed; additive unless said)."""

    calls_seen: int = 0
    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    abandoned_within: int = 0
    short_abandons: int = 0
    timeouts: int = 0
    wait_answered: float = 0.0
    talk_answered: float = 0.0  # without wrap-up
    longest_wait: float | None = None  # max
    agents: str = ""  # merged as a set, see module docstring
    callbacks_offered: int = 0
    callbacks_done: int = 0
    requests: int = 0
    resolved: int = 0
    resolve_seconds: float = 0.0
    solved_level1: int = 0
    solved_level2: int = 0
    solved_level3: int = 0
    from_calls: int = 0
    fcr: int = 0
    fcr_manual: int = 0
    sla_met: int = 0
    sla_judged: int = 0  # resolved tickets with a due time (open ones below)
    open_due: int = 0
    open_due_min: datetime | None = None  # min
    open_due_max: datetime | None = None  # max
    csat_sum: int = 0
    csat_count: int = 0

    def add(self, other: Sums) -> None:
        for f in ADDITIVE:
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.longest_wait = _max(self.longest_wait, other.longest_wait)
        self.open_due_min = _min(self.open_due_min, other.open_due_min)
        self.open_due_max = _max(self.open_due_max, other.open_due_max)
        self.agents = merge_agents(self.agents, other.agents)

    def add_fields(self, d: Mapping[str, Any]) -> None:
        """Add a contribution given as its non-zero fields (faster than `add` for one fact)."""
        for k, v in d.items():
            if k == "agents":
                self.agents = merge_agents(self.agents, v)
            elif k in ("longest_wait", "open_due_max"):
                setattr(self, k, _max(getattr(self, k), v))
            elif k == "open_due_min":
                self.open_due_min = _min(self.open_due_min, v)
            else:
                setattr(self, k, getattr(self, k) + v)

    def seen(self) -> bool:
        return self.calls_seen + self.requests + self.callbacks_offered > 0


MERGED = ("longest_wait", "agents", "open_due_min", "open_due_max")
ADDITIVE = tuple(f.name for f in fields(Sums) if f.name not in MERGED)
COLUMNS = tuple(f.name for f in fields(Sums))


def _max(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else max(a, b)


def _min(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else min(a, b)


def pseudonym(agent: str) -> str:
    return hashlib.sha256(agent.encode()).hexdigest()[:10]


def merge_agents(a: str, b: str) -> str:
    if ALL_AGENTS in (a, b):
        return ALL_AGENTS
    both = {x for x in (*a.split(","), *b.split(",")) if x}
    return ALL_AGENTS if len(both) >= MIN_GROUP else ",".join(sorted(both))


def hidden(s: Sums, per_agent: bool) -> bool:
    """The privacy rule of tickets.report_figures: 1 to 4 agents answered this group's calls."""
    return not per_agent and s.agents not in ("", ALL_AGENTS)


def resolve_bin(seconds: float) -> int:
    """Fixed bins: a minute under a day, 15 minutes under 30 days, a day beyond."""
    s = max(0.0, seconds)
    if s < 86400:
        return int(s // 60)
    if s < 30 * 86400:
        return 1440 + int((s - 86400) // 900)
    return 1440 + 2784 + int((s - 30 * 86400) // 86400)


@dataclass(slots=True)
class Bin:
    n: int = 0
    total: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf

    def add(self, other: Bin) -> None:
        self.n, self.total = self.n + other.n, self.total + other.total
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)


Histogram = dict[int, Bin]
HistKey = tuple[date, str, str, str, str, int]  # day, dim, value, level, priority, bin


@dataclass(frozen=True, slots=True)
class Picked:
    """The bins of a histogram a median and 90th percentile need, each with the count of
    times in the bins before it (in bin order); `n` counts the whole histogram
    (tickets.report_agg_pick.pick makes it from one or many histograms)."""

    n: int
    cells: tuple[tuple[int, Bin], ...] = ()


def _kth(p: Picked, k: int) -> float:
    """The k-th smallest time (1-based): exact when its bin holds one value or equal ones."""
    for before, cell in p.cells:
        if before < k <= before + cell.n:
            if cell.n == 1:
                return cell.total
            if cell.lo == cell.hi:
                return cell.lo
            return cell.lo + (cell.hi - cell.lo) * (k - before - 1) / (cell.n - 1)
    raise ValueError("k beyond the histogram")


def median_ks(n: int) -> tuple[int, int]:
    """The ranks whose mean is the median of n times (the same twice when n is odd)."""
    return (n + 1) // 2, n // 2 + 1


def p90_k(n: int) -> int:
    return max(1, math.ceil(0.9 * n))


def median_hours(p: Picked) -> float | None:
    if p.n == 0:
        return None
    lo, hi = median_ks(p.n)
    return (_kth(p, lo) / 3600 + _kth(p, hi) / 3600) / 2


def p90_hours(p: Picked) -> float | None:
    return None if p.n == 0 else _kth(p, p90_k(p.n)) / 3600


@dataclass
class Aggregates:
    rows: dict[Key, Sums] = field(default_factory=dict)
    hist: dict[HistKey, Bin] = field(default_factory=dict)

    def row(self, key: Key) -> Sums:
        found = self.rows.get(key)
        if found is None:
            found = self.rows[key] = Sums()
        return found

    def bin(self, key: HistKey) -> Bin:
        found = self.hist.get(key)
        if found is None:
            found = self.hist[key] = Bin()
        return found


def _call(c: CallFact, rules: ReportRules) -> dict[str, Any]:
    s: dict[str, Any] = {"calls_seen": 1}
    if c.answered and c.agent:
        s["agents"] = pseudonym(c.agent)
    if c.outcome == "after_hours":
        return s
    s.update(offered=1, longest_wait=c.wait_seconds, timeouts=int(c.outcome == "timeout"))
    if c.answered:
        s.update(answered=1, answered_within=int(c.wait_seconds <= rules.threshold), wait_answered=c.wait_seconds,
                 talk_answered=c.talk_seconds)
    elif c.outcome == "abandoned":
        s.update(abandoned=1, abandoned_within=int(c.wait_seconds <= rules.threshold),
                 short_abandons=int(c.wait_seconds < rules.short_abandon))
    return s


def _ticket(t: TicketFact, fcr: Mapping[int, bool], as_of: datetime | None) -> dict[str, Any]:
    s: dict[str, Any] = {"requests": 1}
    if t.csat is not None:
        s.update(csat_sum=t.csat, csat_count=1)
    if t.resolved_at is not None:
        s.update(resolved=1, resolve_seconds=(t.resolved_at - t.at).total_seconds())
        if t.level in ("1", "2", "3"):
            s[f"solved_level{t.level}"] = 1
        if t.due_at is not None:
            s.update(sla_judged=1, sla_met=int(t.resolved_at <= t.due_at))
    elif t.due_at is not None:
        if as_of is None:
            s.update(open_due=1, open_due_min=t.due_at, open_due_max=t.due_at)
        elif t.due_at <= as_of:
            s["sla_judged"] = 1
    if t.call_ended_at is not None:
        s.update(from_calls=1, fcr=int(bool(fcr.get(t.id))), fcr_manual=int(t.manual_fcr))
    return s


def aggregate(facts: Facts, rules: ReportRules, zone: ZoneInfo, as_of: datetime | None = None) -> Aggregates:
    """The aggregate rows of `facts` (calls, tickets, callbacks of whole local days; the
    later contacts for FCR). With `as_of`, open tickets past due are judged now instead of
    being kept as open_due (for days computed from raw rows at report time)."""
    fcr = fcr_by_ticket(facts.calls, facts.later_calls, facts.tickets, facts.later_tickets, rules)
    out = Aggregates()

    def put(fact: CallFact | TicketFact | CallbackFact, s: Mapping[str, Any], queue: str, level: str = "",
            priority: str = "") -> None:
        day = fact.at.astimezone(zone).date()
        out.row((day, "", "", queue, level, priority)).add_fields(s)
        for dim in GROUPS:
            out.row((day, dim, group_key(dim, fact, zone), queue, "", "")).add_fields(s)

    for c in facts.calls:
        put(c, _call(c, rules), c.queue)
    for b in facts.callbacks:
        put(b, {"callbacks_offered": 1, "callbacks_done": int(b.done)}, b.queue)
    for t in facts.tickets:
        put(t, _ticket(t, fcr, as_of), "", t.level, t.priority)
        if t.resolved_at is not None:
            seconds = (t.resolved_at - t.at).total_seconds()
            one = Bin(1, seconds, seconds, seconds)
            day, bucket = t.at.astimezone(zone).date(), resolve_bin(seconds)
            out.bin((day, "", "", t.level, t.priority, bucket)).add(one)
            for dim in GROUPS:
                out.bin((day, dim, group_key(dim, t, zone), "", "", bucket)).add(one)
    return out


def merged(rows: Iterable[tuple[tuple[Any, ...], Sums]]) -> dict[tuple[Any, ...], Sums]:
    out: dict[tuple[Any, ...], Sums] = defaultdict(Sums)
    for key, s in rows:
        out[key].add(s)
    return dict(out)


def call_figures(s: Sums, talk_with_wrapup: float) -> dict[str, Any]:
    """callqueue.metrics.figures from sums (`talk_with_wrapup`: answered talk plus wrap-up)."""
    def ratio(num: float, den: float) -> float | None:
        return num / den if den > 0 else None

    return {"offered": s.offered, "answered": s.answered, "answered_within": s.answered_within,
            "abandoned": s.abandoned, "short_abandons": s.short_abandons, "timeouts": s.timeouts,
            "service_level": ratio(s.answered_within, s.offered - s.short_abandons),
            "service_level_asterisk": ratio(s.answered_within, s.answered),
            "service_level_asterisk2": ratio(s.answered_within + s.abandoned_within, s.answered + s.abandoned),
            "asa_seconds": ratio(s.wait_answered, s.answered), "aht_seconds": ratio(talk_with_wrapup, s.answered),
            "abandon_rate": ratio(s.abandoned - s.short_abandons, s.offered), "longest_wait_seconds": s.longest_wait}


def ticket_figures(s: Sums, hist: Picked, as_of: datetime) -> dict[str, Any]:
    """tickets.report_figures.ticket_figures from sums; open tickets are judged by `as_of`
    (the caller made sure none of them falls due inside these rows' open-due span)."""
    def ratio(num: float, den: float) -> float | None:
        return num / den if den > 0 else None

    judged = s.sla_judged + (s.open_due if s.open_due and s.open_due_max is not None
                             and s.open_due_max <= as_of else 0)
    return {
        "requests": s.requests, "resolved": s.resolved,
        "fcr_eligible": s.from_calls, "fcr": s.fcr, "fcr_rate": ratio(s.fcr, s.from_calls),
        "fcr_manual": s.fcr_manual, "fcr_manual_rate": ratio(s.fcr_manual, s.from_calls),
        "resolve_hours_mean": s.resolve_seconds / s.resolved / 3600 if s.resolved else None,
        "resolve_hours_median": median_hours(hist), "resolve_hours_p90": p90_hours(hist),
        "solved_level1_share": ratio(s.solved_level1, s.resolved),
        "solved_level2_share": ratio(s.solved_level2, s.resolved),
        "solved_level3_share": ratio(s.solved_level3, s.resolved),
        "sla_judged": judged, "sla_met": s.sla_met, "sla_attainment": ratio(s.sla_met, judged),
        "csat_count": s.csat_count, "csat_average": s.csat_sum / s.csat_count if s.csat_count else None,
    }


def straddles(s: Sums, as_of: datetime) -> bool:
    """Some but maybe not all of the row's open tickets are due by `as_of`."""
    return (s.open_due > 0 and s.open_due_min is not None and s.open_due_max is not None
            and s.open_due_min <= as_of < s.open_due_max)


def wrapup_talk(by_queue: Sequence[tuple[str, Sums]], wrapup: Mapping[str, float]) -> float:
    return sum(s.talk_answered + s.answered * wrapup.get(q, 0.0) for q, s in by_queue)

