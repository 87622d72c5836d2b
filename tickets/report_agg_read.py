"""A report read from the aggregates (tickets.report_agg), the same dict
tickets.report_build.build makes from raw rows.

Layer: service (sync, run off the event loop). Must not import agent_console.
Whole local days and ended months are summed in the database (a year is a few
thousand rows per query for the total); the days still marked dirty, and the days
whose open tickets fall due around `as_of`, are aggregated from raw rows on the fly.
The median and p90 of the time to resolve are picked from the months' packed
histograms and the other days' bins (tickets.report_agg_pick). Not
served from aggregates (None: the caller reads raw rows): a day's report (its
series is per clock hour), the per-agent group, and aggregates built with other
rules (time zone, SL threshold, short abandon, FCR days).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, case, func, not_, select
from sqlalchemy.orm import Session, sessionmaker

from tickets import report_agg_month
from tickets.report_agg import (
    ADDITIVE,
    ALL_AGENTS,
    RESOLVE_RESOLUTION,
    Aggregates,
    Bin,
    Histogram,
    Picked,
    Sums,
    aggregate,
    call_figures,
    hidden,
    median_hours,
    merge_agents,
    p90_hours,
    ticket_figures,
)
from tickets.report_agg_models import ReportAgg, ReportAggMonth, ReportAggMonthBins, ReportAggResolve
from tickets.report_agg_month import in_months, months_between, next_month
from tickets.report_agg_pick import Run, pick, run, unpack
from tickets.report_agg_store import dirty_days, load_days, meta, ranges, rules_match, straddling_days
from tickets.report_build import header
from tickets.report_figures import AGENT_GROUP, CHANNELS, EMPTY_ROW, PRIORITIES, ReportRules
from tickets.report_period import Period, local_midnight

_KEY = {"day": 0, "dim": 1, "value": 2, "queue": 3, "level": 4, "priority": 5}
_HIST_KEY = {"day": 0, "dim": 1, "value": 2, "level": 3, "priority": 4}
TICKET_FIGURES = {"requests", "sla_met", "sla_judged"}  # only on ticket rows
NONE = Picked(0)  # no time to resolve


class Reader:
    """Sums and histograms over the period's days, grouped by some key columns: the
    months in `months` from their roll-ups (tickets.report_agg_month), the other days
    from their day rows, except the days in `skip`, whose sums are in `mem`. Of those,
    only the `dirty` days' stored bins are out of date (a time to resolve does not depend
    on `as_of`), so only they are skipped for the histograms, and `mem` holds only their
    bins."""

    def __init__(self, conn: Connection, first: date, last: date, skip: set[date], dirty: set[date],
                 mem: Aggregates, as_of: datetime, months: Sequence[date] = ()) -> None:
        self.conn, self.first, self.last, self.skip, self.mem, self.as_of = conn, first, last, skip, mem, as_of
        self.months, self.dirty = list(months), dirty

    def _parts(self, day_table: Any, month_table: Any, dim: str, by: tuple[str, ...],
               skip: set[date]) -> list[tuple[Any, list[Any]]]:
        """(table, where) to read: day rows outside the rolled-up months but not in
        `skip`, and those months."""
        days = [day_table.day >= self.first, day_table.day <= self.last, day_table.dim == dim]
        days += [day_table.day.not_in(skip)] if skip else []
        if not self.months or "day" in by:
            return [(day_table, days)]
        parts = [(month_table, [month_table.day.in_(self.months), month_table.dim == dim])]
        if self.first < self.months[0] or self.last >= next_month(self.months[-1]) or len(self.months) != len(
                months_between(self.months[0], self.months[-1])):  # days outside the months to read
            parts.append((day_table, [*days, not_(in_months(day_table.day, self.months))]))
        return parts

    def sums(self, dim: str, by: tuple[str, ...], only: tuple[str, ...] = ADDITIVE,
             agents: bool = True) -> dict[tuple[Any, ...], Sums]:
        """Rows of `dim` summed per `by`; `only` these figures (ticket figures only: only the
        ticket rows, whose queue is ""), the agents when asked (rows of up to four agents:
        their lists are read apart only when a group has two different ones)."""
        out: dict[tuple[Any, ...], Sums] = {}
        n, m = len(by), len(only)
        for t, where in self._parts(ReportAgg, ReportAggMonth, dim, by, self.skip):
            cols = [getattr(t, b) for b in by]
            tickets_only = [t.queue == ""] if set(only) <= TICKET_FIGURES else []
            few = case((t.agents.not_in(("", ALL_AGENTS)), t.agents), else_=None)
            q = (select(*cols, *(func.sum(getattr(t, c)) for c in only), func.max(t.longest_wait),
                        func.sum(case((t.open_due_max <= self.as_of, t.open_due), else_=0)),
                        func.max(case((t.agents == ALL_AGENTS, 1), else_=0)), func.min(few), func.max(few))
                 .where(*where, *tickets_only).group_by(*cols))
            apart = False
            for r in self.conn.execute(q):
                s = Sums(**dict(zip(only, r[n:n + m], strict=True)))
                longest, judged_open, many, few_lo, few_hi = r[n + m:]
                s.longest_wait, s.sla_judged, s.open_due = longest, s.sla_judged + judged_open, 0
                s.agents = ALL_AGENTS if many else few_lo or "" if agents else ""
                apart = apart or (agents and not many and few_lo != few_hi)
                key = tuple(r[:n])
                if key in out:
                    out[key].add(s)
                else:
                    out[key] = s
            if apart:
                lists = select(*cols, t.agents).distinct().where(*where, t.agents.not_in(("", ALL_AGENTS)))
                for r in self.conn.execute(lists):
                    got = out[tuple(r[:n])]
                    got.agents = merge_agents(got.agents, r[n])
        for k, v in self.mem.rows.items():
            if k[1] == dim:
                out.setdefault(tuple(k[_KEY[b]] for b in by), Sums()).add(v)
        return out

    def picks(self, dim: str, by: tuple[str, ...]) -> dict[tuple[Any, ...], Picked]:
        """Per `by`, the bins a median and a 90th percentile need (tickets.report_agg_pick)."""
        return {key: pick(rs) for key, rs in self.runs(dim, by).items()}

    def runs(self, dim: str, by: tuple[str, ...]) -> dict[tuple[Any, ...], list[Run]]:
        """Per `by`, the time-to-resolve histograms as runs: the rolled-up months' packed
        ones (one row per key and month), the other days' bins merged per key in the
        database, the `dirty` days' from `mem`."""
        runs: dict[tuple[Any, ...], list[Run]] = defaultdict(list)
        n = len(by)
        for t, where in self._parts(ReportAggResolve, ReportAggMonthBins, dim, by, self.dirty):
            cols = [getattr(t, b) for b in by]
            if t is ReportAggMonthBins:
                for r in self.conn.execute(select(*cols, t.data).where(*where)):
                    runs[tuple(r[:n])].append(unpack(r[n]))
                continue
            hists: dict[tuple[Any, ...], Histogram] = defaultdict(dict)
            q = (select(*cols, t.bin, func.sum(t.n), func.sum(t.total), func.min(t.lo), func.max(t.hi))
                 .where(*where).group_by(*cols, t.bin))
            for r in self.conn.execute(q):
                hists[tuple(r[:n])][r[n]] = Bin(*r[n + 1:])
            for key, h in hists.items():
                runs[key].append(run(h))
        mem: dict[tuple[Any, ...], Histogram] = defaultdict(dict)
        for k, b in self.mem.hist.items():
            if k[1] == dim:
                mem[tuple(k[_HIST_KEY[x]] for x in by)].setdefault(k[5], Bin()).add(b)
        for key, h in mem.items():
            runs[key].append(run(h))
        return runs


def _by(rows: Mapping[tuple[Any, ...], Sums], wrapup: Mapping[str, float],
        queue_at: int) -> dict[tuple[Any, ...], tuple[Sums, float]]:
    """Merge rows over their queue column (at `queue_at` in the key): sums and talk + wrap-up."""
    out: dict[tuple[Any, ...], tuple[Sums, float]] = {}
    for key, s in rows.items():
        rest = key[:queue_at] + key[queue_at + 1:]
        merged, talk = out.get(rest, (Sums(), 0.0))
        merged.add(s)
        out[rest] = (merged, talk + s.talk_answered + s.answered * wrapup.get(key[queue_at], 0.0))
    return out


def _row(s: Sums, talk: float, hist: Picked, as_of: datetime) -> dict[str, Any]:
    return {**call_figures(s, talk), **ticket_figures(s, hist, as_of),
            "callbacks_offered": s.callbacks_offered, "callbacks_done": s.callbacks_done}


def _volume(label: str, s: Sums, per_agent: bool) -> dict[str, Any]:
    f = call_figures(s, 0.0)
    quiet = hidden(s, per_agent)
    return {"at": label, "offered": s.offered, "answered": None if quiet else s.answered,
            "service_level": None if quiet else f["service_level"]}


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _resolution(cells: Mapping[tuple[Any, ...], tuple[Sums, float]], picks: Mapping[tuple[Any, ...], Picked],
                targets: Mapping[str, float]) -> list[dict[str, Any]]:
    out = []
    for level in ("1", "2", "3"):
        for priority in PRIORITIES:
            s = cells.get((level, priority), (Sums(), 0.0))[0]
            if not s.requests:
                continue
            hist = picks.get((level, priority), NONE)
            out.append({"level": int(level), "priority": priority, "tickets": s.requests, "resolved": s.resolved,
                        "mean_hours": s.resolve_seconds / s.resolved / 3600 if s.resolved else None,
                        "median_hours": median_hours(hist), "p90_hours": p90_hours(hist),
                        "target_hours": targets.get(priority), "sla_met": s.sla_met, "sla_judged": s.sla_judged,
                        "sla_attainment": _ratio(s.sla_met, s.sla_judged)})
    return out


def assemble(p: Period, group: str, r: Reader, rules: ReportRules, as_of: datetime) -> dict[str, Any]:
    zone, wrapup = ZoneInfo(p.tz), rules.wrapup or {}
    cells = _by(r.sums("", ("queue", "level", "priority")), wrapup, 0)
    cell_runs = r.runs("", ("level", "priority"))
    cell_picks = {key: pick(rs) for key, rs in cell_runs.items()}
    total_pick = pick(chain.from_iterable(cell_runs.values()))  # the same histograms, all cells
    total, talk = Sums(), 0.0
    for s, t in cells.values():
        total.add(s)
        talk += t
    rows = []
    if group:
        picks = r.picks(group, ("value",))
        for (value,), (s, t) in sorted(_by(r.sums(group, ("value", "queue")), wrapup, 1).items()):
            if not s.seen():
                continue
            quiet = hidden(s, rules.per_agent)
            body = dict.fromkeys(EMPTY_ROW) if quiet else _row(s, t, picks.get((value,), NONE), as_of)
            rows.append({"group": value, "suppressed": quiet, **body})
    volume = ("offered", "answered", "answered_within", "short_abandons")  # what _volume shows
    days = {k[0]: s for k, s in r.sums("", ("day",), volume).items()}
    hours = {k[0]: s for k, s in r.sums("hour", ("value",), volume).items()}
    requests = ("requests",)
    channels = {k[0]: s.requests for k, s in r.sums("channel", ("value",), requests, False).items() if s.requests}
    categories = {k[0]: s.requests for k, s in r.sums("category", ("value",), requests, False).items()
                  if s.requests}
    orgs = sorted((k[0], s) for k, s in r.sums("organisation", ("value",), (*requests, "sla_met", "sla_judged"),
                                                False).items() if s.requests)
    return {
        **header(p, group, rules, as_of, RESOLVE_RESOLUTION),
        "total": {"group": None, "suppressed": False, **_row(total, talk, total_pick, as_of)},
        "rows": rows,
        "series": [_volume(local_midnight(d, zone).isoformat(), days.get(d, Sums()), rules.per_agent)
                   for d in p.days()],
        "by_hour": [_volume(f"{h:02d}", hours.get(f"{h:02d}", Sums()), rules.per_agent) for h in range(24)],
        "channels": dict(sorted({**dict.fromkeys(CHANNELS, 0), **channels}.items())),
        "categories": dict(sorted(categories.items())),
        "resolution": _resolution(cells, cell_picks, rules.targets or {}),
        "sla_by_organisation": [{"organisation": name, "tickets": s.requests, "sla_judged": s.sla_judged,
                                 "sla_met": s.sla_met, "sla_attainment": _ratio(s.sla_met, s.sla_judged)}
                                for name, s in orgs],
    }


def report(sessions: sessionmaker[Session], p: Period, group: str, rules: ReportRules,
           as_of: datetime) -> dict[str, Any] | None:
    """The report from the aggregates, or None when they cannot serve it (module docstring)."""
    if p.kind == "day" or group == AGENT_GROUP:
        return None
    zone = ZoneInfo(p.tz)
    with sessions() as s:
        if not rules_match(meta(s), rules, p.tz):
            return None
        dirty = dirty_days(s, p.first, p.last, zone)
        months = report_agg_month.covered(s.connection(), p.first, p.last, dirty, as_of)
        skip = dirty | straddling_days(s, p.first, p.last, as_of, months)
        mem = Aggregates()
        for a, b in ranges(sorted(skip)):
            part = aggregate(load_days(s, a, b, zone, rules.fcr.days), rules, zone, as_of)
            mem.rows.update(part.rows)
            mem.hist.update((k, b) for k, b in part.hist.items() if k[0] in dirty)
        return assemble(p, group, Reader(s.connection(), p.first, p.last, skip, dirty, mem, as_of, months), rules,
                        as_of)
