"""Report aggregates (issue 18, item 4): after a random mix of calls, tickets,
reopenings, escalations, repeat calls and late mails, written in many transactions
through the hooked sessions, the stored aggregates equal a recomputation from the
raw rows, and every report from them equals the report from raw rows (times to
resolve: within their histogram bin). Runs on SQLite, and on PostgreSQL with
HOTLINE_TEST_DATABASE_URL."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from tests import report_month
from tests.db_fixture import db_sessions, wipe
from tests.tickets import test_history_import
from tickets import report_agg_marks, report_agg_month, report_agg_read, report_agg_store
from tickets.db import session_factory
from tickets.models import (
    Callback,
    CallbackStatus,
    CallRecord,
    Channel,
    Contact,
    Organisation,
    Priority,
    Ticket,
    TicketHistory,
    TicketMessage,
    TicketStatus,
)
from tickets.report_agg import COLUMNS, Bin, Sums, aggregate
from tickets.report_agg_models import (
    ReportAgg,
    ReportAggMark,
    ReportAggMonth,
    ReportAggMonthBins,
    ReportAggMonthResolve,
    ReportAggMonths,
    ReportAggResolve,
)
from tickets.report_agg_pick import unpack
from tickets.report_build import build
from tickets.report_data import load
from tickets.report_facts import FcrRule
from tickets.report_figures import GROUPS, ReportRules
from tickets.report_period import Period, period

TZ = "Europe/Berlin"
ZONE = ZoneInfo(TZ)
RULES = ReportRules(fcr=FcrRule(days=7), wrapup={"hotline": 30.0}, targets={"critical": 4, "high": 8,
                                                                           "normal": 24, "low": 72})
PERCENTILES = ("resolve_hours_median", "resolve_hours_p90", "median_hours", "p90_hours")


@pytest.fixture()
def sessions(module_database_url: str) -> Iterator[sessionmaker[Session]]:
    """A database (PostgreSQL: a schema) of this module's own: the session's shared one may
    hold another suite's app whose minute's catch-up rewrites the aggregates meanwhile."""
    with db_sessions(module_database_url) as made:
        wipe(made)
        yield made
        wipe(made)


def same(agg: Any, raw: Any, path: str = "") -> None:
    """Equal, floats approximately; percentiles within a 15-minute histogram bin."""
    if isinstance(raw, dict):
        assert set(agg) == set(raw), path
        for k in raw:
            if k == "resolve_percentiles":
                continue
            if k in PERCENTILES and raw[k] is not None:
                assert agg[k] == pytest.approx(raw[k], abs=0.25), f"{path}.{k}"
            else:
                same(agg[k], raw[k], f"{path}.{k}")
    elif isinstance(raw, list):
        assert len(agg) == len(raw), path
        for n, (a, r) in enumerate(zip(agg, raw, strict=True)):
            same(a, r, f"{path}[{n}]")
    elif isinstance(raw, float):
        assert agg == pytest.approx(raw), path
    else:
        assert agg == raw, path


def reports_agree(sessions: sessionmaker[Session], p: Period, as_of: datetime) -> None:
    for group in ("", *GROUPS):
        raw = build(p, group, load(sessions, p.start, p.end, RULES.fcr.days), RULES, as_of)
        caught_up(sessions, as_of)
        agg = report_agg_read.report(sessions, p, group, RULES, as_of)
        assert agg is not None and agg["definitions"]["resolve_percentiles"] is not None
        same(agg, raw, group or "total")


def caught_up(sessions: sessionmaker[Session], now: datetime, rules: ReportRules = RULES) -> None:
    """Catch up until the aggregates hold `rules` and no hour is dirty. catch_up returns 0 at
    once while another writer holds the aggregates' lock: then it is asked again. (The stale
    figures once blamed on that lock were writes of an unhooked sessionmaker: see
    test_every_session_factory_is_hooked_even_at_a_freed_ones_address.)"""
    deadline = time.monotonic() + 30
    while True:
        while report_agg_store.catch_up(sessions, rules, TZ, now):
            pass
        with sessions() as s:
            built = report_agg_store.meta(s)
            if (built is not None and report_agg_store.rules_match(built, rules, TZ)
                    and not s.scalar(select(func.count()).select_from(ReportAggMark))):
                return
        assert time.monotonic() < deadline, "not caught up: another aggregate writer holds the lock"
        time.sleep(0.05)


def stored(sessions: sessionmaker[Session], months: bool = False) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """The stored rows and bins; of the months, the packed histograms are checked to
    hold the same bins as the month's bin rows."""
    rows_table, hist_table = (ReportAggMonth, ReportAggMonthResolve) if months else (ReportAgg, ReportAggResolve)
    with sessions() as s:
        rows = {r[:6]: r[6:] for r in s.execute(select(*rows_table.__table__.c))}
        hist = {r[:6]: r[6:] for r in s.execute(select(*hist_table.__table__.c))}
        packed = {}
        for *key, data in s.execute(select(*ReportAggMonthBins.__table__.c)) if months else ():
            run = unpack(data)
            for b in (key >> 32 for key in run.keys):
                cell = run.cell(b)
                assert cell is not None
                packed[(*key, b)] = (cell.n, cell.total, cell.lo, cell.hi)
    if months:
        equal_tables(packed, hist)
    return rows, hist


def rolled_up(sessions: sessionmaker[Session], first: date, last: date,
              months: set[date]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """What the month roll-ups of `months` must hold: the recomputed day rows summed per month."""
    with sessions() as s:
        agg = aggregate(report_agg_store.load_days(s, first, last, ZONE, RULES.fcr.days), RULES, ZONE)
    sums: dict[Any, Sums] = {}
    bins: dict[Any, Bin] = {}
    for k, v in agg.rows.items():
        if k[0].replace(day=1) in months:
            sums.setdefault((k[0].replace(day=1), *k[1:]), Sums()).add(v)
    for hk, b in agg.hist.items():
        if hk[0].replace(day=1) in months:
            bins.setdefault((hk[0].replace(day=1), *hk[1:]), Bin()).add(b)
    return ({k: tuple(getattr(v, c) for c in COLUMNS) for k, v in sums.items()},
            {k: (b.n, b.total, b.lo, b.hi) for k, b in bins.items()})


def recomputed(sessions: sessionmaker[Session], first: date, last: date) -> tuple[dict[Any, Any], dict[Any, Any]]:
    with sessions() as s:
        agg = aggregate(report_agg_store.load_days(s, first, last, ZONE, RULES.fcr.days), RULES, ZONE)
    rows = {k: tuple(getattr(v, c) for c in COLUMNS) for k, v in agg.rows.items()}
    hist = {k: (b.n, b.total, b.lo, b.hi) for k, b in agg.hist.items()}
    return rows, hist


def equal_tables(got: dict[Any, Any], want: dict[Any, Any]) -> None:
    assert set(got) == set(want)
    for key, values in want.items():
        for g, w in zip(got[key], values, strict=True):
            assert g == (pytest.approx(w) if isinstance(w, float) else w), key


def test_known_month_from_aggregates(sessions: sessionmaker[Session]) -> None:
    report_month.seed(sessions)
    with sessions() as s:
        assert s.scalar(select(ReportAggMark.hour).limit(1)) is not None  # the writes marked their hours
    reports_agree(sessions, period("month", ZONE, anchor=date(2026, 11, 15)), report_month.AS_OF)
    with sessions() as s:
        assert s.scalar(select(ReportAggMark.hour).limit(1)) is None  # caught up


class Desk:
    """Random calls, tickets and later changes, each in its own transaction."""

    def __init__(self, sessions: sessionmaker[Session], seed: int) -> None:
        self.sessions, self.rng, self.n = sessions, random.Random(seed), 0
        with sessions.begin() as s:
            orgs = [Organisation(name=f"Org {i}", team=f"T{i % 2}", language="de") for i in range(3)]
            s.add_all(orgs)
            s.flush()
            people = [Contact(name=f"P{i}", organisation_id=orgs[i % 3].id, team=f"T{i % 3}",
                              language=("de", "en")[i % 2]) for i in range(8)]
            s.add_all(people)
            s.flush()
            self.people = [p.id for p in people]
            self.orgs = [o.id for o in orgs]
        self.tickets: list[int] = []

    def when(self) -> datetime:
        return datetime(2026, 10, 20, tzinfo=UTC) + timedelta(minutes=self.rng.randrange(60 * 24 * 60))

    def call(self) -> None:
        rng, at = self.rng, self.when()
        self.n += 1
        contact = rng.choice([*self.people, None])
        number = f"+49301{contact or rng.randrange(3):04d}"
        outcome = rng.choice(("answered", "answered", "answered", "abandoned", "timeout", "after_hours"))
        wait = float(rng.choice((2, 4, 10, 25, 26, 60)))
        answered = at + timedelta(seconds=wait) if outcome == "answered" else None
        talk = float(rng.randrange(30, 900)) if answered else None
        ended = (answered + timedelta(seconds=talk or 0)) if answered else at + timedelta(seconds=wait)
        with self.sessions.begin() as s:
            rec = CallRecord(linkedid=f"R{self.n}", caller_number=number, contact_id=contact,
                             queue=rng.choice(("hotline", "vip", "")), entered_at=at, answered_at=answered,
                             ended_at=ended, wait_seconds=wait, talk_seconds=talk, outcome=outcome,
                             agent=f"PJSIP/{1001 + rng.randrange(6)}" if answered else None)
            s.add(rec)
            s.flush()
            if answered is not None:
                rec.ticket_id = self._ticket(s, answered, contact, rec.linkedid, Channel.PHONE)
            elif outcome in ("abandoned", "timeout") and wait >= 5:
                s.add(Callback(caller_number=number, contact_id=contact, queue=rec.queue, reason=outcome,
                               first_call_at=at, last_call_at=at,
                               status=rng.choice((CallbackStatus.DONE, CallbackStatus.OPEN))))

    def _ticket(self, s: Session, at: datetime, contact: int | None, linkedid: str | None, channel: Channel) -> int:
        rng = self.rng
        ticket = Ticket(number=f"X-{len(self.tickets)}", subject="t", status=TicketStatus.NEW,
                        priority=rng.choice(list(Priority)), level=rng.choice((1, 1, 2, 3)),
                        category=rng.choice(("printer", "mail", "")), channel=channel, contact_id=contact,
                        organisation_id=rng.choice(self.orgs) if contact is None else None, linkedid=linkedid,
                        first_contact_resolution=rng.random() < 0.5, csat=rng.choice((None, 1, 4, 5)),
                        due_at=at + timedelta(hours=rng.choice((4, 24, 72, 24 * 50))), created_at=at, updated_at=at)
        s.add(ticket)
        s.flush()
        self.tickets.append(ticket.id)
        if rng.random() < 0.7:
            self._status(s, ticket, at + timedelta(minutes=rng.choice((3, 10, 600, 3000))), TicketStatus.RESOLVED)
        return ticket.id

    def _status(self, s: Session, ticket: Ticket, at: datetime, new: TicketStatus) -> None:
        s.add(TicketHistory(ticket_id=ticket.id, at=at, actor="t", field="status", old=ticket.status.value,
                            new=new.value))
        ticket.status = new

    def mail_ticket(self) -> None:
        with self.sessions.begin() as s:
            self._ticket(s, self.when(), self.rng.choice(self.people), None,
                         self.rng.choice((Channel.EMAIL, Channel.FORM, Channel.FAX)))

    def change(self) -> None:
        """Reopen or resolve a ticket, escalate it, or write on it."""
        rng = self.rng
        with self.sessions.begin() as s:
            ticket = s.get_one(Ticket, rng.choice(self.tickets))
            at = ticket.created_at + timedelta(hours=rng.randrange(1, 200))
            roll = rng.random()
            if roll < 0.4:
                done = ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
                self._status(s, ticket, at, TicketStatus.OPEN if done else TicketStatus.RESOLVED)
            elif roll < 0.6:
                ticket.level = min(3, ticket.level + 1)
            elif roll < 0.8:
                s.add(TicketMessage(ticket_id=ticket.id, channel=Channel.EMAIL, sender="x@example.org",
                                    message_id=f"<m{rng.random()}@t>", received_at=at))
            else:
                ticket.category = rng.choice(("network", "account"))


def test_aggregates_equal_a_recomputation_after_a_random_mix(sessions: sessionmaker[Session]) -> None:
    """Day rows and month roll-ups (October and November have ended by NOW; December is
    rolled up by the last report, whose as_of is in 2027) equal a recomputation."""
    desk = Desk(sessions, seed=18)
    now = datetime(2026, 12, 20, tzinfo=UTC)
    with sessions.begin() as s:
        report_agg_store.rebuild(s, RULES, TZ, now)
    for round_ in range(3):
        for _ in range(40):
            desk.call()
        for _ in range(10):
            desk.mail_ticket()
        for _ in range(25):
            desk.change()
        if round_ == 1:  # a contact moves to another organisation: their past calls regroup
            with sessions.begin() as s:
                s.get_one(Contact, desk.people[0]).organisation_id = desk.orgs[2]
        caught_up(sessions, now)
        equal_tables(stored(sessions)[0], recomputed(sessions, date(2026, 10, 19), date(2027, 1, 1))[0])
        equal_tables(stored(sessions)[1], recomputed(sessions, date(2026, 10, 19), date(2027, 1, 1))[1])
        ended = {date(2026, 10, 1), date(2026, 11, 1)}
        with sessions() as s:
            assert set(s.scalars(select(ReportAggMonths.day))) == ended  # not December: not over
        months = rolled_up(sessions, date(2026, 10, 1), date(2026, 11, 30), ended)
        equal_tables(stored(sessions, months=True)[0], months[0])
        equal_tables(stored(sessions, months=True)[1], months[1])
    as_of = datetime(2026, 12, 3, 9, tzinfo=UTC)  # some open tickets due before, some after
    reports_agree(sessions, period("month", ZONE, anchor=date(2026, 11, 1)), as_of)
    reports_agree(sessions, period("custom", ZONE, first=date(2026, 10, 1), last=date(2026, 12, 31)), as_of)
    later = datetime(2027, 3, 1, tzinfo=UTC)  # every open ticket due: the three months come from roll-ups
    year = period("custom", ZONE, first=date(2026, 1, 1), last=date(2026, 12, 31))
    reports_agree(sessions, year, later)
    with sessions() as s:
        assert report_agg_month.covered(s.connection(), year.first, year.last, set(), later) == [
            date(2026, m, 1) for m in (10, 11, 12)]  # the months with rows (the others hold nothing)
    for _ in range(10):  # not caught up: the dirty days' sums and bins come from raw rows, the rest as stored
        desk.call()
        desk.change()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ReportAggMark))
    for group in ("", "organisation", "level"):
        raw = build(year, group, load(sessions, year.start, year.end, RULES.fcr.days), RULES, later)
        agg = report_agg_read.report(sessions, year, group, RULES, later)
        assert agg is not None
        same(agg, raw, f"dirty {group or 'total'}")


def test_history_import_updates_the_aggregates_and_rebuild_recomputes(sessions: sessionmaker[Session],
                                                                       module_database_url: str,
                                                                       tmp_path: Path) -> None:
    with sessions.begin() as s:  # built with the Settings defaults, which the commands use
        report_agg_store.rebuild(s, RULES, TZ, datetime.now(UTC))
    log = tmp_path / "queue_log"
    log.write_text(test_history_import.LOG)
    out = test_history_import.run(["history", "import", "queue_log", str(log)], module_database_url)
    assert out.returncode == 0, out.stderr
    with sessions() as s:
        assert s.scalar(select(ReportAggMark.hour).limit(1)) is None
        offered = s.scalar(select(func.sum(ReportAgg.offered)).where(ReportAgg.dim == ""))
    assert offered == 4  # answered, abandoned, timed out, transferred
    equal_tables(stored(sessions)[0], recomputed(sessions, date(2026, 11, 1), date(2026, 12, 31))[0])
    with sessions.begin() as s:
        s.execute(delete(ReportAgg))  # lost: a rebuild brings them back
    out = test_history_import.run(["reports", "rebuild"], module_database_url)
    assert out.returncode == 0 and "report aggregates rebuilt:" in out.stdout, out.stderr
    equal_tables(stored(sessions)[0], recomputed(sessions, date(2026, 11, 1), date(2026, 12, 31))[0])


def test_every_session_factory_is_hooked_even_at_a_freed_ones_address() -> None:
    """Each sessionmaker gets the marking hooks, also one made where a dropped one lived:
    SQLAlchemy keys listeners by id(), so asking it whether a maker was hooked said yes
    for such a maker about one time in ten, and its writes left no marks (stale reports;
    twice a flake in a full PostgreSQL run)."""
    engine = create_engine("sqlite://")
    hooks = ("before_flush", "after_flush", "before_commit", "after_transaction_end", "do_orm_execute")
    try:
        for n in range(500):
            made = session_factory(engine)
            with made() as s:
                missing = [h for h in hooks if not list(getattr(s.dispatch, h))]
            assert missing == [], f"sessionmaker {n} not hooked: {missing}"
            del made
    finally:
        engine.dispose()


def test_call_end_statements_and_a_moved_call_are_marked(sessions: sessionmaker[Session]) -> None:
    """A call end as tickets.calls_service writes it (insert-or-ignore, then UPDATE ... WHERE:
    its marks are read once, before the UPDATE, since it sets the same times), and an UPDATE
    that moves a call to another day (read before and again at commit): after a catch-up
    the day rows and the month roll-ups equal a recomputation."""
    desk = Desk(sessions, seed=4)
    for _ in range(20):
        desk.call()
    now = datetime(2027, 1, 15, tzinfo=UTC)
    with sessions.begin() as s:
        report_agg_store.rebuild(s, RULES, TZ, now)
    at = datetime(2026, 11, 10, 9, tzinfo=UTC)
    values = {"caller_number": "+4930100001", "contact_id": desk.people[1], "queue": "hotline", "entered_at": at,
              "answered_at": at + timedelta(seconds=12), "ended_at": at + timedelta(seconds=200),
              "wait_seconds": 12.0, "talk_seconds": 188.0, "agent": "PJSIP/1001", "outcome": "answered"}
    with sessions.begin() as s:
        s.execute(sqlite_insert(CallRecord).values(site="main", linkedid="end-1", **values)
                  .on_conflict_do_nothing(index_elements=["site", "linkedid"])
                  if s.get_bind().dialect.name == "sqlite" else
                  pg_insert(CallRecord).values(site="main", linkedid="end-1", **values)
                  .on_conflict_do_nothing(index_elements=["site", "linkedid"]))
        s.execute(update(CallRecord).where(CallRecord.site == "main", CallRecord.linkedid == "end-1").values(**values))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ReportAggMark)) >= 1
    caught_up(sessions, now)
    moved = at - timedelta(days=15)  # to October: both months change
    with sessions.begin() as s:
        s.execute(update(CallRecord).where(CallRecord.linkedid == "end-1")
                  .values(entered_at=moved, answered_at=moved + timedelta(seconds=12),
                          ended_at=moved + timedelta(seconds=200)))
    caught_up(sessions, now)
    equal_tables(stored(sessions)[0], recomputed(sessions, date(2026, 10, 1), date(2027, 1, 1))[0])
    months = {date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)}
    with sessions() as s:
        assert set(s.scalars(select(ReportAggMonths.day))) == months
    equal_tables(stored(sessions, months=True)[0], rolled_up(sessions, date(2026, 10, 1), date(2026, 12, 31),
                                                             months)[0])


def _answered(linkedid: str, at: datetime) -> CallRecord:
    return CallRecord(linkedid=linkedid, caller_number="+4930100002", queue="hotline", entered_at=at,
                      answered_at=at + timedelta(seconds=5), ended_at=at + timedelta(seconds=65), wait_seconds=5.0,
                      talk_seconds=60.0, agent="PJSIP/1001", outcome="answered")


def _bounded(s: Session) -> None:
    """This transaction gives up after 2 s on any lock (PostgreSQL): waiting is failing."""
    s.execute(text("SET LOCAL lock_timeout = '2s'"))


@pytest.mark.postgresql  # SQLite serialises writers: no two write transactions are open at once
def test_writers_marking_the_same_hour_do_not_wait_for_each_other(sessions: sessionmaker[Session]) -> None:
    """Issue 15 (item 4): every site's writer marks the hours of its calls; one writer's
    open transaction, holding its mark of an hour, must not hold up another's mark of
    the same hour (each gives up after 2 s on a lock: a wait fails the test)."""
    assert sessions.kw["bind"].dialect.name == "postgresql"
    at = datetime(2026, 11, 10, 9, 15, tzinfo=UTC)
    with sessions.begin() as s:
        report_agg_store.rebuild(s, RULES, TZ, datetime(2027, 1, 15, tzinfo=UTC))
    with sessions() as first:
        _bounded(first)
        first.add(_answered("site-a-1", at))
        first.flush()
        report_agg_marks.mark(first.connection(), [at])  # what its commit does; held open
        for n in range(3):  # meanwhile other sites' writers commit calls of that hour
            with sessions.begin() as other:
                _bounded(other)
                other.add(_answered(f"site-b-{n}", at + timedelta(minutes=n)))
        first.commit()
    caught_up(sessions, datetime(2027, 1, 15, tzinfo=UTC))
    equal_tables(stored(sessions)[0], recomputed(sessions, date(2026, 11, 1), date(2026, 11, 30))[0])


@pytest.mark.postgresql
def test_a_mark_made_during_a_catch_up_is_kept(sessions: sessionmaker[Session],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer commits a call of an hour the catch-up is re-aggregating, after the
    catch-up took that hour's marks and read its calls: the writer does not wait for the
    catch-up (2 s lock bound), its mark outlives the catch-up, and the next catch-up
    brings the aggregates to a recomputation."""
    assert sessions.kw["bind"].dialect.name == "postgresql"
    now, at = datetime(2027, 1, 15, tzinfo=UTC), datetime(2026, 11, 10, 9, 15, tzinfo=UTC)
    with sessions.begin() as s:
        report_agg_store.rebuild(s, RULES, TZ, now)
    with sessions.begin() as s:
        s.add(_answered("before", at))
    real, written = report_agg_store.write_days, []

    def write_then_a_call(s: Session, *args: Any) -> None:
        real(s, *args)  # the catch-up has read the day's calls; its transaction is still open
        if not written:
            with sessions.begin() as other:
                _bounded(other)
                other.add(_answered("during", at + timedelta(minutes=1)))
            written.append(True)

    monkeypatch.setattr(report_agg_store, "write_days", write_then_a_call)
    assert report_agg_store.catch_up(sessions, RULES, TZ, now) >= 1
    assert written
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ReportAggMark)), "the mark made meanwhile was lost"
    monkeypatch.setattr(report_agg_store, "write_days", real)
    caught_up(sessions, now)
    equal_tables(stored(sessions)[0], recomputed(sessions, date(2026, 11, 1), date(2026, 11, 30))[0])
