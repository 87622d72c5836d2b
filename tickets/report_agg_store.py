"""Writing the report aggregates: re-aggregating dirty days, rebuilding everything.

Layer: service (sync, run off the event loop). Must not import agent_console.
A day is re-aggregated from the raw rows (tickets.report_data, the same reading a
report does) and its rows replaced in one transaction, which first deletes the marks
of the hours it takes (tickets.report_agg_models.ReportAggMark) and only then reads
their raw rows. A mark is committed with the change it marks, so a mark that delete
saw has its change visible to the reads after it (PostgreSQL, READ COMMITTED: each
statement reads what was committed before it began; SQLite: from its delete on the
catch-up holds the one write lock, so its reads include every commit before the delete,
and no write commits until it ends); a mark committed after the delete began is not
seen by it and stays for the next catch-up. No version to compare, no row a writer
updates: writers never wait for a catch-up (on PostgreSQL; SQLite writes one at a time).
Two instances: one catch-up at a time (an advisory lock on PostgreSQL; SQLite
serialises writers anyway).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, delete, func, insert, not_, select
from sqlalchemy.orm import Session, sessionmaker

from tickets import report_agg_month
from tickets.models import Callback, CallRecord, Ticket
from tickets.report_agg import COLUMNS, Aggregates, aggregate
from tickets.report_agg_models import LAYOUT, ReportAgg, ReportAggMark, ReportAggMeta, ReportAggResolve
from tickets.report_build import Facts
from tickets.report_data import load_callbacks, load_calls, load_tickets
from tickets.report_figures import ReportRules
from tickets.report_period import local_midnight

CHUNK_DAYS = 31
LOCK_NAME = ".report_agg writer"  # the advisory lock, per schema


def rules_match(meta: ReportAggMeta | None, rules: ReportRules, tz: str) -> bool:
    return meta is not None and (meta.tz, meta.threshold, meta.short_abandon, meta.fcr_days,
                                 meta.fcr_after_call_minutes) == (tz, rules.threshold, rules.short_abandon,
                                                                  rules.fcr.days, rules.fcr.after_call_minutes)


def meta(s: Session) -> ReportAggMeta | None:
    """The meta row of this LAYOUT; None (never built, or built with other dims): rebuild."""
    return s.get(ReportAggMeta, LAYOUT)


def ranges(days: Sequence[date]) -> Iterator[tuple[date, date]]:
    """Consecutive runs of `days` (sorted), at most CHUNK_DAYS long."""
    run: list[date] = []
    for d in sorted(set(days)):
        if run and (d - run[-1] != timedelta(days=1) or len(run) == CHUNK_DAYS):
            yield run[0], run[-1]
            run = []
        run.append(d)
    if run:
        yield run[0], run[-1]


def load_days(s: Session, first: date, last: date, zone: ZoneInfo, fcr_days: int) -> Facts:
    start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    later = end + timedelta(days=fcr_days)
    return Facts(calls=load_calls(s, start, end), tickets=load_tickets(s, start, end),
                 callbacks=load_callbacks(s, start, end), later_calls=load_calls(s, end, later),
                 later_tickets=load_tickets(s, end, later))


def _rows(agg: Aggregates) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = [{"day": k[0], "dim": k[1], "value": k[2][:200], "queue": k[3], "level": k[4], "priority": k[5],
             **{c: getattr(v, c) for c in COLUMNS}} for k, v in agg.rows.items()]
    hist = [{"day": k[0], "dim": k[1], "value": k[2][:200], "level": k[3], "priority": k[4], "bin": k[5],
             "n": b.n, "total": b.total, "lo": b.lo, "hi": b.hi} for k, b in agg.hist.items()]
    return rows, hist


def write_days(s: Session, first: date, last: date, rules: ReportRules, zone: ZoneInfo) -> None:
    """Replace the aggregates of local days first..last with a fresh aggregation."""
    agg = aggregate(load_days(s, first, last, zone, rules.fcr.days), rules, zone)
    conn = s.connection()
    conn.execute(delete(ReportAgg).where(ReportAgg.day >= first, ReportAgg.day <= last))
    conn.execute(delete(ReportAggResolve).where(ReportAggResolve.day >= first, ReportAggResolve.day <= last))
    report_agg_month.drop(conn, first, last)
    rows, hist = _rows(agg)
    if rows:
        conn.execute(insert(ReportAgg), rows)
    if hist:
        conn.execute(insert(ReportAggResolve), hist)


def days_of_hours(hours: Sequence[datetime], zone: ZoneInfo) -> list[date]:
    """The local days an hour [h, h+1) overlaps."""
    return sorted({d for h in hours for d in (h.astimezone(zone).date(),
                                               (h + timedelta(minutes=59, seconds=59)).astimezone(zone).date())})


def _writer_lock(s: Session, wait: bool) -> bool:
    """One aggregate writer at a time across instances (PostgreSQL advisory lock for the
    transaction; SQLite serialises writers itself)."""
    if s.get_bind().dialect.name != "postgresql":
        return True
    key = func.hashtext(func.concat(func.current_schema(), LOCK_NAME))  # advisory locks span schemas
    if wait:
        s.execute(select(func.pg_advisory_xact_lock(key)))
        return True
    return bool(s.scalar(select(func.pg_try_advisory_xact_lock(key))))


def catch_up(sessions: sessionmaker[Session], rules: ReportRules, tz: str, now: datetime,
             limit: int = 2000) -> int:
    """Re-aggregate the days of up to `limit` dirty hours (when the aggregates hold these
    rules; never built: build them now); returns how many hours were cleared. Idempotent
    and restart-safe; while another instance writes aggregates it returns 0 at once."""
    zone = ZoneInfo(tz)
    with sessions.begin() as s:
        if not _writer_lock(s, wait=False):
            return 0
        built = meta(s)
        if built is None:
            rebuild(s, rules, tz, now)
            return 0
        if not rules_match(built, rules, tz):
            return 0
        hours = [utc(h) for h in s.scalars(select(ReportAggMark.hour).distinct().order_by(ReportAggMark.hour)
                                           .limit(limit))]
        if hours:  # before reading them: see the module's docstring
            s.execute(delete(ReportAggMark).where(ReportAggMark.hour.in_(hours)))
        for first, last in ranges(days_of_hours(hours, zone)):
            write_days(s, first, last, rules, zone)
        report_agg_month.roll_up_ended(s.connection(), now.astimezone(zone).date())  # ended, or rewritten
        return len(hours)


def utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def dirty_days(s: Session, first: date, last: date, zone: ZoneInfo) -> set[date]:
    start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    hours = s.scalars(select(ReportAggMark.hour).distinct().where(ReportAggMark.hour >= start - timedelta(hours=1),
                                                       ReportAggMark.hour < end)).all()
    return {d for d in days_of_hours(list(hours), zone) if first <= d <= last}


def _data_span(conn: Connection) -> tuple[datetime | None, datetime | None]:
    lows, highs = [], []
    for lo_col, hi_col in ((func.min(func.coalesce(CallRecord.entered_at, CallRecord.ended_at)),
                            func.max(func.coalesce(CallRecord.entered_at, CallRecord.ended_at))),
                           (func.min(Ticket.created_at), func.max(Ticket.created_at)),
                           (func.min(Callback.first_call_at), func.max(Callback.first_call_at))):
        lo, hi = conn.execute(select(lo_col, hi_col)).one()
        lows += [lo] if lo is not None else []
        highs += [hi] if hi is not None else []
    parse = [utc(v if isinstance(v, datetime) else datetime.fromisoformat(v)) for v in (*lows, *highs)]
    return (min(parse[:len(lows)]), max(parse[len(lows):])) if lows else (None, None)


def rebuild(s: Session, rules: ReportRules, tz: str, now: datetime) -> int:
    """Recompute every aggregate from the raw rows with these rules (in `s`'s transaction);
    returns the number of days aggregated."""
    zone = ZoneInfo(tz)
    _writer_lock(s, wait=True)
    conn = s.connection()
    for table in (ReportAgg, ReportAggResolve, ReportAggMark, ReportAggMeta, *report_agg_month.MONTH_TABLES):
        conn.execute(delete(table))
    lo, hi = _data_span(conn)
    days = 0
    if lo is not None and hi is not None:
        first, last = lo.astimezone(zone).date(), hi.astimezone(zone).date()
        all_days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        for a, b in ranges(all_days):
            write_days(s, a, b, rules, zone)
        days = len(all_days)
        report_agg_month.roll_up_ended(conn, now.astimezone(zone).date())
    conn.execute(insert(ReportAggMeta).values(
        id=LAYOUT, tz=tz, threshold=rules.threshold, short_abandon=rules.short_abandon, fcr_days=rules.fcr.days,
        fcr_after_call_minutes=rules.fcr.after_call_minutes, built_at=now))
    return days


def straddling_days(s: Session, first: date, last: date, as_of: datetime, months: Sequence[date] = ()) -> set[date]:
    """Days holding open tickets of which some but not all are due by `as_of` (not looked
    for in `months`, read from their roll-ups)."""
    t = ReportAgg
    outside = [not_(report_agg_month.in_months(t.day, months))] if months else []
    if months and first >= months[0] and last < report_agg_month.next_month(months[-1]) and len(months) == len(
            report_agg_month.months_between(months[0], months[-1])):
        return set()  # every day is in a rolled-up month
    q = (select(t.day).distinct().where(t.day >= first, t.day <= last, t.open_due > 0, *outside,
                                        and_(t.open_due_min <= as_of, t.open_due_max > as_of)))
    return set(s.scalars(q))
