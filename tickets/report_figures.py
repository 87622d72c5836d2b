"""A report's figures from its facts: one row per group, the tables beside them.

Layer: domain, pure (no I/O, no clock: `as_of` is passed in). Must not import
agent_console. Call figures are callqueue.metrics.figures (the definitions the
wallboard and the interval route use), never redefined here; AHT is talk plus the
queue's wrap-up time, given per queue.

Privacy (works-council rule): with per-agent figures off (`per_agent=False`) no
group is an agent, and a group whose answered calls were taken by 1 to 4 agents
shows no figures at all (`suppressed: true`), since they would describe those few
people; the desk-wide total row is never suppressed. The same holds for a partner
(who staffs the agents): a partner whose 1 to 4 agents answered the period's calls
is those people's figures, so it is suppressed like any such group. With per-agent figures on,
an agent's row with fewer than MIN_GROUP answered calls is suppressed.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from callqueue.metrics import FinishedCall, figures

from tickets.report_facts import (
    CallbackFact,
    CallFact,
    FcrRule,
    TicketFact,
    contact_times,
    first_contact_resolved,
)

GROUPS = ("queue", "organisation", "team", "channel", "category", "level", "language", "hour", "weekday", "site",
          "partner")
AGENT_GROUP = "agent"
MIN_GROUP = 5
CHANNELS = ("phone", "email", "fax", "form")
PRIORITIES = ("critical", "high", "normal", "low")
DONE = ("resolved", "closed")


@dataclass(frozen=True, slots=True)
class ReportRules:
    threshold: int = 25
    short_abandon: int = 5
    fcr: FcrRule = field(default_factory=FcrRule)
    per_agent: bool = False
    wrapup: Mapping[str, float] | None = None  # queue -> wrap-up seconds
    targets: Mapping[str, float] | None = None  # priority -> resolution target, hours


Fact = CallFact | TicketFact | CallbackFact
F = TypeVar("F", CallFact, TicketFact, CallbackFact)


def group_key(group: str, fact: Fact, zone: ZoneInfo) -> str:
    if group == "hour":
        return f"{fact.at.astimezone(zone).hour:02d}"
    if group == "weekday":
        return str(fact.at.astimezone(zone).weekday())  # 0 = Monday
    return str(getattr(fact, group))


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile: the smallest value with 90 % at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


Finished = Mapping[int, FinishedCall]  # id(call fact) -> the call as callqueue.metrics takes it


def finished_calls(calls: Iterable[CallFact], rules: ReportRules) -> dict[int, FinishedCall]:
    """Each call once as a FinishedCall (talk + its queue's wrap-up), for every figure of a report."""
    wrapup = rules.wrapup or {}
    return {id(c): FinishedCall(c.outcome, c.wait_seconds, c.talk_seconds + wrapup.get(c.queue, 0.0), c.answered)
            for c in calls}


def call_figures(calls: Sequence[CallFact], rules: ReportRules, finished: Finished | None = None) -> dict[str, Any]:
    known = finished if finished is not None else finished_calls(calls, rules)
    f = figures([known[id(c)] for c in calls], rules.threshold, rules.short_abandon)
    return {"offered": f.offered, "answered": f.answered, "answered_within": f.answered_within,
            "abandoned": f.abandoned, "short_abandons": f.short_abandons, "timeouts": f.timeouts,
            "service_level": f.service_level, "service_level_asterisk": f.sl_asterisk,
            "service_level_asterisk2": f.sl2_asterisk, "asa_seconds": f.asa, "aht_seconds": f.aht,
            "abandon_rate": f.abandon_rate, "longest_wait_seconds": f.longest_wait}


def resolve_hours(t: TicketFact) -> float | None:
    return None if t.resolved_at is None else (t.resolved_at - t.at).total_seconds() / 3600


def met_target(t: TicketFact, as_of: datetime) -> bool | None:
    """True/False once it counts for SLA attainment (resolved, or past due unresolved); None before."""
    if t.due_at is None:
        return None
    if t.resolved_at is not None:
        return t.resolved_at <= t.due_at
    return False if t.due_at <= as_of else None


def ticket_figures(tickets: Sequence[TicketFact], fcr: Mapping[int, bool], as_of: datetime) -> dict[str, Any]:
    from_calls = [t for t in tickets if t.call_ended_at is not None]
    solved = [t for t in tickets if t.resolved_at is not None]
    hours = [h for t in solved if (h := resolve_hours(t)) is not None]
    judged = [m for t in tickets if (m := met_target(t, as_of)) is not None]
    fcr_count = sum(1 for t in from_calls if fcr.get(t.id))
    manual = sum(1 for t in from_calls if t.manual_fcr)
    rated = [t.csat for t in tickets if t.csat is not None]
    return {
        "requests": len(tickets), "resolved": len(solved),
        "fcr_eligible": len(from_calls), "fcr": fcr_count, "fcr_rate": _ratio(fcr_count, len(from_calls)),
        "fcr_manual": manual, "fcr_manual_rate": _ratio(manual, len(from_calls)),
        "resolve_hours_mean": statistics.fmean(hours) if hours else None,
        "resolve_hours_median": statistics.median(hours) if hours else None,
        "resolve_hours_p90": p90(hours),
        **{f"solved_level{n}_share": _ratio(sum(1 for t in solved if t.level == str(n)), len(solved))
           for n in (1, 2, 3)},
        "sla_judged": len(judged), "sla_met": sum(judged), "sla_attainment": _ratio(sum(judged), len(judged)),
        "csat_count": len(rated), "csat_average": statistics.fmean(rated) if rated else None,
    }


def callback_figures(callbacks: Sequence[CallbackFact]) -> dict[str, Any]:
    return {"callbacks_offered": len(callbacks), "callbacks_done": sum(1 for c in callbacks if c.done)}


EMPTY_ROW = {**call_figures([], ReportRules()), **ticket_figures([], {}, datetime.min),
             **callback_figures([])}


def row(calls: Sequence[CallFact], tickets: Sequence[TicketFact], callbacks: Sequence[CallbackFact],
        fcr: Mapping[int, bool], rules: ReportRules, as_of: datetime,
        finished: Finished | None = None) -> dict[str, Any]:
    return {**call_figures(calls, rules, finished), **ticket_figures(tickets, fcr, as_of),
            **callback_figures(callbacks)}


def _bucket(facts: Iterable[F], key: Callable[[F], str]) -> dict[str, list[F]]:
    out: dict[str, list[F]] = defaultdict(list)
    for f in facts:
        out[key(f)].append(f)
    return out


def agents_in(calls: Iterable[CallFact]) -> int:
    return len({c.agent for c in calls if c.answered and c.agent})


def grouped_rows(group: str, calls: Sequence[CallFact], tickets: Sequence[TicketFact],
                 callbacks: Sequence[CallbackFact], fcr: Mapping[int, bool], rules: ReportRules,
                 zone: ZoneInfo, as_of: datetime, finished: Finished | None = None) -> list[dict[str, Any]]:
    """One row per group value seen in any fact, sorted by value; privacy applied."""
    def key(f: Fact) -> str:
        return group_key(group, f, zone)

    by_calls, by_tickets, by_callbacks = _bucket(calls, key), _bucket(tickets, key), _bucket(callbacks, key)
    rows = []
    for value in sorted(set(by_calls) | set(by_tickets) | set(by_callbacks)):
        c, t, b = by_calls.get(value, []), by_tickets.get(value, []), by_callbacks.get(value, [])
        if group == AGENT_GROUP:
            hidden = sum(1 for x in c if x.answered) < MIN_GROUP
        else:
            hidden = not rules.per_agent and 0 < agents_in(c) < MIN_GROUP
        body = {k: None for k in EMPTY_ROW} if hidden else row(c, t, b, fcr, rules, as_of, finished)
        rows.append({"group": value, "suppressed": hidden, **body})
    return rows


def fcr_by_ticket(calls: Sequence[CallFact], later_calls: Sequence[CallFact], tickets: Sequence[TicketFact],
                  later_tickets: Sequence[TicketFact], rules: ReportRules) -> dict[int, bool]:
    """FCR per ticket made from a call; `later_*` are the contacts after the period (up to N days)."""
    times = contact_times([*calls, *later_calls], [*tickets, *later_tickets], rules.short_abandon)
    return {t.id: first_contact_resolved(t, rules.fcr, times) for t in tickets if t.call_ended_at is not None}


def resolution_table(tickets: Sequence[TicketFact], as_of: datetime,
                     targets: Mapping[str, float]) -> list[dict[str, Any]]:
    """Time to resolve per level and priority, against the priority's target (hours)."""
    out = []
    cells = _bucket(tickets, lambda t: f"{t.level}|{t.priority}")
    for level in ("1", "2", "3"):
        for priority in PRIORITIES:
            these = cells.get(f"{level}|{priority}", [])
            if not these:
                continue
            hours = [h for t in these if (h := resolve_hours(t)) is not None]
            judged = [m for t in these if (m := met_target(t, as_of)) is not None]
            out.append({"level": int(level), "priority": priority, "tickets": len(these), "resolved": len(hours),
                        "mean_hours": statistics.fmean(hours) if hours else None,
                        "median_hours": statistics.median(hours) if hours else None, "p90_hours": p90(hours),
                        "target_hours": targets.get(priority), "sla_met": sum(judged), "sla_judged": len(judged),
                        "sla_attainment": _ratio(sum(judged), len(judged))})
    return out


def sla_by_organisation(tickets: Sequence[TicketFact], as_of: datetime) -> list[dict[str, Any]]:
    out = []
    for name, these in sorted(_bucket(tickets, lambda t: str(t.organisation)).items()):
        judged = [m for t in these if (m := met_target(t, as_of)) is not None]
        out.append({"organisation": name, "tickets": len(these), "sla_judged": len(judged),
                    "sla_met": sum(judged), "sla_attainment": _ratio(sum(judged), len(judged))})
    return out


def counts(tickets: Iterable[TicketFact], attr: str, known: Sequence[str] = ()) -> dict[str, int]:
    out = dict.fromkeys(known, 0)
    for t in tickets:
        value = str(getattr(t, attr))
        out[value] = out.get(value, 0) + 1
    return dict(sorted(out.items()))
