"""Month roll-ups of the report aggregates: the day rows of a local month summed in
the database (issue 18: a year answers from 12 rows per group, not 365).

Layer: storage (sync). Must not import agent_console.
A month is rolled up once it has ended (its last local day is before today): its
additive figures are SUMs, the longest wait and the open tickets' due span MAX/MIN,
the histogram bins merge bin by bin (count and total summed, lo/hi min/max) - all
in one INSERT ... SELECT per table; then each key's merged histogram is packed into
one row (report_agg_month_bins, what a long period's median and p90 read). Only the
agents who answered are merged in Python (a union of up to four pseudonyms per row,
"*" for five and more), for the rows none of whose days already had five. Re-aggregating a day drops its month's
roll-up (and its line in report_agg_months), so a month is either rolled up from
its current day rows or read from them: `covered` lists the months a report may
take from the roll-up. The current month is always read from its day rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Date,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from tickets.report_agg import ADDITIVE, ALL_AGENTS, Bin, merge_agents
from tickets.report_agg_models import (
    ReportAgg,
    ReportAggMonth,
    ReportAggMonthBins,
    ReportAggMonthResolve,
    ReportAggMonths,
    ReportAggResolve,
)
from tickets.report_agg_pick import pack

KEYS = ("dim", "value", "queue", "level", "priority")
HIST_KEYS = ("dim", "value", "level", "priority", "bin")
MONTH_TABLES = (ReportAggMonth, ReportAggMonthResolve, ReportAggMonthBins, ReportAggMonths)
PACK_KEYS = ("dim", "value", "level", "priority")


def month_of(d: date) -> date:
    return d.replace(day=1)


def next_month(m: date) -> date:
    return (m.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    out, m = [], month_of(first)
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def in_months(day: Any, months: Iterable[date]) -> ColumnElement[bool]:
    """`day` falls in one of `months` (month starts)."""
    return or_(*(and_(day >= m, day < next_month(m)) for m in months))


def drop(conn: Connection, first: date, last: date) -> None:
    """Forget the roll-ups of the months days first..last fall in (they are being rewritten)."""
    months = months_between(first, last)
    for table in MONTH_TABLES:
        conn.execute(delete(table).where(table.day >= months[0], table.day < next_month(months[-1])))


def roll_up(conn: Connection, month: date) -> None:
    """Sum the day rows of `month` into its roll-up rows, and list it as rolled up."""
    t, r, m = ReportAgg, ReportAggResolve, literal(month, Date)
    in_month = (t.day >= month, t.day < next_month(month))
    many = func.max(case((t.agents == ALL_AGENTS, 1), else_=0))
    rows = (select(m, *(getattr(t, k) for k in KEYS), *(func.sum(getattr(t, c)) for c in ADDITIVE),
                   func.max(t.longest_wait), func.min(t.open_due_min), func.max(t.open_due_max),
                   case((many == 1, ALL_AGENTS), else_=""))
            .where(*in_month).group_by(*(getattr(t, k) for k in KEYS)))
    target = ["day", *KEYS, *ADDITIVE, "longest_wait", "open_due_min", "open_due_max", "agents"]
    conn.execute(insert(ReportAggMonth).from_select(target, rows))
    hist = (select(m, *(getattr(r, k) for k in HIST_KEYS), func.sum(r.n), func.sum(r.total), func.min(r.lo),
                   func.max(r.hi))
            .where(r.day >= month, r.day < next_month(month)).group_by(*(getattr(r, k) for k in HIST_KEYS)))
    conn.execute(insert(ReportAggMonthResolve).from_select(["day", *HIST_KEYS, "n", "total", "lo", "hi"], hist))
    _pack(conn, month)
    few: dict[tuple[Any, ...], str] = defaultdict(str)
    for row in conn.execute(select(*(getattr(t, k) for k in KEYS), t.agents).distinct()
                            .where(*in_month, t.agents.not_in(("", ALL_AGENTS)))):
        few[tuple(row[:-1])] = merge_agents(few[tuple(row[:-1])], row[-1])
    if few:
        mt = cast(Table, ReportAggMonth.__table__)
        conn.execute(update(mt).where(mt.c.day == month, mt.c.agents == "",
                                      *(mt.c[k] == bindparam(f"k_{k}") for k in KEYS)),
                     [{**{f"k_{k}": v for k, v in zip(KEYS, key, strict=True)}, "agents": agents}
                      for key, agents in few.items()])
    conn.execute(insert(ReportAggMonths).values(day=month))


def _pack(conn: Connection, month: date) -> None:
    """Each key's histogram of the month just rolled up, packed into one row."""
    mr = ReportAggMonthResolve
    keys = [getattr(mr, k) for k in PACK_KEYS]
    q = select(*keys, mr.bin, mr.n, mr.total, mr.lo, mr.hi).where(mr.day == month).order_by(*keys, mr.bin)
    rows: list[dict[str, Any]] = []
    key: tuple[Any, ...] | None = None
    hist: dict[int, Bin] = {}
    for r in conn.execute(q):
        if tuple(r[:4]) != key:
            if hist:
                rows.append({"day": month, **dict(zip(PACK_KEYS, key or (), strict=True)), "data": pack(hist)})
            key, hist = tuple(r[:4]), {}
        hist[r[4]] = Bin(r[5], r[6], r[7], r[8])
    if hist:
        rows.append({"day": month, **dict(zip(PACK_KEYS, key or (), strict=True)), "data": pack(hist)})
    for start in range(0, len(rows), 2000):
        conn.execute(insert(ReportAggMonthBins), rows[start:start + 2000])


def roll_up_ended(conn: Connection, today: date) -> int:
    """Roll up every month with day rows that has ended before `today` and is not rolled up."""
    lo, hi = conn.execute(select(func.min(ReportAgg.day), func.max(ReportAgg.day))).one()
    if lo is None:
        return 0
    done = set(conn.scalars(select(ReportAggMonths.day)))
    due = [m for m in months_between(_date(lo), _date(hi)) if m not in done and next_month(m) <= today]
    for month in due:
        roll_up(conn, month)
    return len(due)


def covered(conn: Connection, first: date, last: date, skip: set[date], as_of: datetime) -> list[date]:
    """The months inside first..last a report reads from the roll-up: rolled up, none of
    their days to be read from raw rows (`skip`), and no open ticket of theirs that falls
    due partly before and partly after `as_of` (judged on the month's whole due span)."""
    whole = [m for m in months_between(first, last) if m >= first and next_month(m) - timedelta(days=1) <= last
             and not any(month_of(d) == m for d in skip)]
    if not whole:
        return []
    t = ReportAggMonth
    listed = set(map(_date, conn.scalars(select(ReportAggMonths.day).where(ReportAggMonths.day.in_(whole)))))
    spans = conn.execute(select(t.day, func.min(t.open_due_min), func.max(t.open_due_max))
                         .where(t.day.in_(whole), t.dim == "", t.open_due > 0).group_by(t.day)).all()
    straddle = {_date(d) for d, lo, hi in spans if lo is not None and hi is not None and _utc(lo) <= as_of < _utc(hi)}
    return [m for m in whole if m in listed and m not in straddle]


def _date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def _utc(v: Any) -> datetime:
    at = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
