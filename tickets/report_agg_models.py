"""Tables of the report aggregates (tickets.report_agg): sums per local day and group,
the time-to-resolve histograms, the dirty hours still to re-aggregate, and the rules
the aggregates were built with.

Layer: storage. A group (site, partner, ...) needs no column: it is one more `dim`
value. LAYOUT is the id of the one meta row: aggregates built by a hotline whose
dims differ (before `site` and `partner`: id 1) have no meta row of this id, so
reports read raw rows and the first catch-up rebuilds them; a new dim bumps it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tickets.models import Base, UtcDateTime


class AggColumns:
    """The columns of a sums row (a day's, or a month's roll-up)."""

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # local, in report_agg_meta.tz
    dim: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(4), primary_key=True)
    priority: Mapped[str] = mapped_column(String(10), primary_key=True)
    calls_seen: Mapped[int] = mapped_column(Integer, default=0)
    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    answered_within: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    abandoned_within: Mapped[int] = mapped_column(Integer, default=0)
    short_abandons: Mapped[int] = mapped_column(Integer, default=0)
    timeouts: Mapped[int] = mapped_column(Integer, default=0)
    wait_answered: Mapped[float] = mapped_column(Float, default=0.0)
    talk_answered: Mapped[float] = mapped_column(Float, default=0.0)
    longest_wait: Mapped[float | None] = mapped_column(Float)
    agents: Mapped[str] = mapped_column(String(60), default="")  # up to 4 pseudonyms, or "*"
    callbacks_offered: Mapped[int] = mapped_column(Integer, default=0)
    callbacks_done: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    resolve_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    solved_level1: Mapped[int] = mapped_column(Integer, default=0)
    solved_level2: Mapped[int] = mapped_column(Integer, default=0)
    solved_level3: Mapped[int] = mapped_column(Integer, default=0)
    from_calls: Mapped[int] = mapped_column(Integer, default=0)
    fcr: Mapped[int] = mapped_column(Integer, default=0)
    fcr_manual: Mapped[int] = mapped_column(Integer, default=0)
    sla_met: Mapped[int] = mapped_column(Integer, default=0)
    sla_judged: Mapped[int] = mapped_column(Integer, default=0)
    open_due: Mapped[int] = mapped_column(Integer, default=0)
    open_due_min: Mapped[datetime | None] = mapped_column(UtcDateTime())
    open_due_max: Mapped[datetime | None] = mapped_column(UtcDateTime())
    csat_sum: Mapped[int] = mapped_column(Integer, default=0)
    csat_count: Mapped[int] = mapped_column(Integer, default=0)


class ReportAgg(AggColumns, Base):
    __tablename__ = "report_agg"


class ReportAggMonth(AggColumns, Base):
    """The day rows of a month summed (`day` is the month's first day): report_agg_month."""

    __tablename__ = "report_agg_month"


class ResolveColumns:
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dim: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    level: Mapped[str] = mapped_column(String(4), primary_key=True)
    priority: Mapped[str] = mapped_column(String(10), primary_key=True)
    bin: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    lo: Mapped[float] = mapped_column(Float)
    hi: Mapped[float] = mapped_column(Float)


class ReportAggResolve(ResolveColumns, Base):
    __tablename__ = "report_agg_resolve"


class ReportAggMonthResolve(ResolveColumns, Base):
    __tablename__ = "report_agg_month_resolve"


class ReportAggMonthBins(Base):
    """A month's time-to-resolve histogram of one key packed into one value
    (tickets.report_agg_pick): a long period's median and p90 read one row per group and
    month, not one per bin. Written with the month's roll-up."""

    __tablename__ = "report_agg_month_bins"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dim: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    level: Mapped[str] = mapped_column(String(4), primary_key=True)
    priority: Mapped[str] = mapped_column(String(10), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ReportAggMonths(Base):
    """A month whose roll-up rows are complete (a month not listed is read from day rows)."""

    __tablename__ = "report_agg_months"
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class ReportAggMark(Base):
    """A mark: a UTC hour whose calls, tickets or callbacks changed since it was aggregated.
    Insert-only: each write transaction adds a row per hour it makes stale (never updates
    one), so the writers of all sites never wait on each other's marks; a catch-up deletes
    an hour's rows before it reads the hour's raw rows (tickets.report_agg_store.catch_up),
    and a mark committed after that delete stays for the next one. An hour is dirty while
    it has a row."""

    __tablename__ = "report_agg_marks"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


LAYOUT = 3  # 1: the dims up to weekday; 2: + site, partner; 3: an agent is (site, endpoint)


class ReportAggMeta(Base):
    """One row, id LAYOUT: the rules the aggregates hold (a report with other rules reads raw rows)."""

    __tablename__ = "report_agg_meta"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tz: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[int] = mapped_column(Integer)
    short_abandon: Mapped[int] = mapped_column(Integer)
    fcr_days: Mapped[int] = mapped_column(Integer)
    fcr_after_call_minutes: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UtcDateTime())
