"""One whole report (JSON-ready dict) from its facts, and the same report as CSV.

Layer: domain, pure (no I/O, no clock). Must not import agent_console.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tickets.csv_cells import neutralise
from tickets.report_facts import CallbackFact, CallFact, TicketFact
from tickets.report_figures import (
    CHANNELS,
    EMPTY_ROW,
    MIN_GROUP,
    Finished,
    ReportRules,
    agents_in,
    call_figures,
    counts,
    fcr_by_ticket,
    finished_calls,
    grouped_rows,
    resolution_table,
    row,
    sla_by_organisation,
)
from tickets.report_period import Period, local_midnight


@dataclass(frozen=True, slots=True)
class Facts:
    calls: Sequence[CallFact]
    tickets: Sequence[TicketFact]
    callbacks: Sequence[CallbackFact]
    later_calls: Sequence[CallFact] = ()  # after the period, up to the FCR window: repeat contacts
    later_tickets: Sequence[TicketFact] = ()


def _series(p: Period, calls: Sequence[CallFact], rules: ReportRules, zone: ZoneInfo,
            finished: Finished) -> list[dict[str, Any]]:
    """Volume and SL per local hour (a day's report) or per local day."""
    if p.kind == "day":
        edges = [p.start + timedelta(hours=h) for h in range(int((p.end - p.start).total_seconds() // 3600) + 1)]
    else:
        edges = [local_midnight(d, zone) for d in p.days()] + [p.end]
    buckets: list[list[CallFact]] = [[] for _ in edges[1:]]
    for c in calls:
        i = bisect.bisect_right(edges, c.at) - 1
        if 0 <= i < len(buckets):
            buckets[i].append(c)
    return [_volume(lo.isoformat(), these, rules, finished) for lo, these in zip(edges, buckets, strict=False)]


def _volume(label: str, calls: Sequence[CallFact], rules: ReportRules, finished: Finished) -> dict[str, Any]:
    f = call_figures(calls, rules, finished)
    hidden = not rules.per_agent and 0 < agents_in(calls) < MIN_GROUP
    return {"at": label, "offered": f["offered"], "answered": None if hidden else f["answered"],
            "service_level": None if hidden else f["service_level"]}


def _by_hour(calls: Sequence[CallFact], rules: ReportRules, zone: ZoneInfo,
             finished: Finished) -> list[dict[str, Any]]:
    hours: list[list[CallFact]] = [[] for _ in range(24)]
    for c in calls:
        hours[c.at.astimezone(zone).hour].append(c)
    return [_volume(f"{h:02d}", these, rules, finished) for h, these in enumerate(hours)]


def header(p: Period, group: str, rules: ReportRules, as_of: datetime,
           percentiles: dict[str, str] | None = None) -> dict[str, Any]:
    """The report's period, group and definitions; `percentiles`: how exact the time-to-resolve
    median and p90 are (None: exact, computed from every ticket)."""
    return {
        "period": {"kind": p.kind, "first": p.first.isoformat(), "last": p.last.isoformat(),
                   "from": p.start.isoformat(), "to": p.end.isoformat(), "time_zone": p.tz},
        "group": group or None,
        "as_of": as_of.isoformat(),
        "definitions": {"service_level_threshold_seconds": rules.threshold,
                        "short_abandon_seconds": rules.short_abandon,
                        "service_level": (f"answered within {rules.threshold} s / (offered - abandoned "
                                          f"within {rules.short_abandon} s)"),
                        "fcr_days": rules.fcr.days, "fcr_after_call_minutes": rules.fcr.after_call_minutes,
                        "fcr": rules.fcr.definition(),
                        "fcr_final": as_of >= p.end + timedelta(days=rules.fcr.days),
                        "resolve_percentiles": percentiles},
        "per_agent": rules.per_agent,
    }


def build(p: Period, group: str, facts: Facts, rules: ReportRules, as_of: datetime) -> dict[str, Any]:
    zone = ZoneInfo(p.tz)
    fcr = fcr_by_ticket(facts.calls, facts.later_calls, facts.tickets, facts.later_tickets, rules)
    finished = finished_calls(facts.calls, rules)
    total = row(facts.calls, facts.tickets, facts.callbacks, fcr, rules, as_of, finished)
    rows = (grouped_rows(group, facts.calls, facts.tickets, facts.callbacks, fcr, rules, zone, as_of, finished)
            if group else [])
    return {
        **header(p, group, rules, as_of),
        "total": {"group": None, "suppressed": False, **total},
        "rows": rows,
        "series": _series(p, facts.calls, rules, zone, finished),
        "by_hour": _by_hour(facts.calls, rules, zone, finished),
        "channels": counts(facts.tickets, "channel", CHANNELS),
        "categories": counts(facts.tickets, "category"),
        "resolution": resolution_table(facts.tickets, as_of, rules.targets or {}),
        "sla_by_organisation": sla_by_organisation(facts.tickets, as_of),
    }


COLUMNS = ("group", "suppressed", *EMPTY_ROW)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    return neutralise(str(value))


def to_csv(report: dict[str, Any]) -> str:
    """The total row ("total") and one row per group, the JSON's keys as columns; text
    cells a spreadsheet would run as formulas are neutralised; floats with 4 places."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for r in [{**report["total"], "group": "total"}, *report["rows"]]:
        w.writerow([_cell(r.get(c)) for c in COLUMNS])
    return out.getvalue()
