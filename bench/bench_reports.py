"""Report latency over a year of the corporate desk (issue 18): 450,000 calls and
600,000 tickets, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/bench_reports.py [--scale 1.0] [--repeat 5]
     [--pg postgresql+psycopg://user@host/db]
`--scale 0.05` is a quick run (22,500 calls, 30,000 tickets). SQLite is a fresh
file, PostgreSQL a throwaway schema, both migrated with tickets.migrate.upgrade
and filled through SQLAlchemy Core executemany. The year: 2026, calls spread over
its days and the desk's hours, 80 % answered (each with its ticket), the rest
abandoned (a third of them short) or timed out; the other tickets arrive by mail,
form and fax; 85 % of tickets resolved (one status row each), 10 % escalated,
3 % reopened; 50,000 contacts in 500 organisations; a callback per long abandon.
Each report is what GET /api/reports/summary computes for a month and for the whole
year, grouped by queue (and, for the year, by organisation, the group with most
values), timed `--repeat` times: p50 and p99 (of so few runs p99 is the slowest).
With the aggregates (tickets.report_agg_*, built once after the fill and timed):
catch-up + tickets.report_agg_read.report. `--raw` also times the old path from
raw rows (tickets.report_data.load + tickets.report_build.build; a year: minutes).
Then the cost of keeping the aggregates current: `--writes` call ends written the
way tickets.calls_service writes them (insert-or-ignore, then UPDATE ... WHERE
linkedid), with the marking hooks and without, alternately, ms per call (p50/p99),
and the catch-up that re-aggregates the days they dirtied, per call.
`--realtime` (root): this process and its PostgreSQL backends at SCHED_FIFO priority,
so on a machine busy with other work the figures show the work, not the wait for a
core (bench/_db.py). `--pg-keep URL` uses a PostgreSQL database kept between runs: filled only when empty,
its aggregates rebuilt only when missing (a full-scale fill and build take hours on a
loaded machine); `--fill-only` stops after the fill.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import update  # noqa: E402
from sqlalchemy.dialects import postgresql, sqlite  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench._db import batches, raised, realtime  # noqa: E402
from tickets import report_agg_read, report_agg_store, report_data  # noqa: E402
from tickets.db import make_engine, scratch_schema, session_factory  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import Callback, CallRecord, Contact, Organisation, Ticket, TicketHistory  # noqa: E402
from tickets.report_build import build  # noqa: E402
from tickets.report_facts import FcrRule  # noqa: E402
from tickets.report_figures import ReportRules  # noqa: E402
from tickets.report_period import period  # noqa: E402

BATCH = 20_000
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
QUEUES = ("hotline", "hotline-en", "vip")
CATEGORIES = ("printer", "mail", "network", "account", "software", "hardware", "")
PRIORITIES = ("critical", "high", "normal", "normal", "normal", "low")
HOURS = {"critical": 4, "high": 8, "normal": 24, "low": 72}


def _when(rng: random.Random) -> datetime:
    day = rng.randrange(365)
    minute = int(rng.triangular(6 * 60, 20 * 60, 10 * 60))  # the desk's day, busiest mid-morning
    return YEAR_START + timedelta(days=day, minutes=minute, seconds=rng.randrange(60))


class Year:
    def __init__(self, calls: int, tickets: int, seed: int = 18) -> None:
        self.calls, self.tickets, self.rng = calls, tickets, random.Random(seed)
        self.contacts, self.orgs = 50_000, 500
        self.next_ticket = 0
        self.history: list[dict[str, Any]] = []

    def organisations(self) -> Iterator[dict[str, Any]]:
        for j in range(self.orgs):
            yield {"id": j + 1, "name": f"Org {j:04d}", "team": f"Team {j % 5}", "language": "de", "vip": False}

    def people(self) -> Iterator[dict[str, Any]]:
        for i in range(self.contacts):
            yield {"id": i + 1, "name": f"Person {i}", "email": "", "language": "en" if i % 7 == 0 else "de",
                   "team": f"Team {i % 5}", "organisation_id": i % self.orgs + 1, "vip": False}

    def _ticket(self, at: datetime, channel: str, contact: int, linkedid: str | None) -> dict[str, Any]:
        rng = self.rng
        self.next_ticket += 1
        tid, prio = self.next_ticket, rng.choice(PRIORITIES)
        level = 1 if rng.random() < 0.9 else rng.choice((2, 3))
        resolved = rng.random() < 0.85
        status = "resolved" if resolved else rng.choice(("open", "pending", "new"))
        if resolved:
            done = at + timedelta(minutes=rng.choice((5, 10, 60, 600, 3000)) * rng.random() + 1)
            self.history.append({"ticket_id": tid, "at": done, "actor": "bench", "field": "status", "old": "new",
                                 "new": "resolved", "note": ""})
            if rng.random() < 0.03:
                again = done + timedelta(days=1)
                self.history.append({"ticket_id": tid, "at": again, "actor": "bench", "field": "status",
                                     "old": "resolved", "new": "open", "note": ""})
                self.history.append({"ticket_id": tid, "at": again + timedelta(hours=3), "actor": "bench",
                                     "field": "status", "old": "open", "new": "resolved", "note": ""})
        return {"id": tid, "number": f"B-{tid:08d}", "subject": "bench", "description": "", "status": status,
                "priority": prio, "level": level, "team": f"Team {contact % 5}", "assignee": "",
                "category": rng.choice(CATEGORIES), "channel": channel, "first_contact_resolution": rng.random() < 0.5,
                "contact_id": contact, "organisation_id": None, "linkedid": linkedid,
                "due_at": at + timedelta(hours=HOURS[prio]), "created_at": at, "updated_at": at, "version": 1}

    def call_rows(self, tickets: list[dict[str, Any]], callbacks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        rng = self.rng
        for n in range(self.calls):
            at, contact = _when(rng), rng.randrange(self.contacts) + 1
            roll = rng.random()
            outcome = "answered" if roll < 0.8 else "abandoned" if roll < 0.95 else "timeout"
            wait = rng.expovariate(1 / 20) if outcome == "answered" else rng.uniform(1, 120)
            talk = rng.expovariate(1 / 300) if outcome == "answered" else None
            answered = at + timedelta(seconds=wait) if outcome == "answered" else None
            ended = (answered + timedelta(seconds=talk or 0)) if answered else at + timedelta(seconds=wait)
            linkedid = f"b{n}"
            ticket_id = None
            if answered is not None:
                ticket = self._ticket(answered, "phone", contact, linkedid)
                tickets.append(ticket)
                ticket_id = ticket["id"]
            elif wait >= 5:
                callbacks.append({"caller_number": f"+4930{contact:08d}", "caller_raw": "", "caller_name": "",
                                  "contact_id": contact, "queue": "hotline", "reason": outcome, "attempts": 1,
                                  "first_call_at": at, "last_call_at": at,
                                  "status": "done" if rng.random() < 0.7 else "open", "done_by": ""})
            yield {"linkedid": linkedid, "caller_number": f"+4930{contact:08d}", "caller_raw": "", "caller_name": "",
                   "contact_id": contact, "queue": rng.choice(QUEUES), "entered_at": at, "answered_at": answered,
                   "ended_at": ended, "wait_seconds": wait, "ring_seconds": None, "talk_seconds": talk,
                   "duration_seconds": (ended - at).total_seconds(), "position": 1,
                   "agent": f"PJSIP/{1000 + rng.randrange(60)}" if answered else None, "outcome": outcome,
                   "ticket_id": ticket_id, "callback_id": None, "route_reason": "", "route_team": ""}

    def other_tickets(self, count: int) -> list[dict[str, Any]]:
        return [self._ticket(_when(self.rng), self.rng.choice(("email", "email", "form", "fax")),
                             self.rng.randrange(self.contacts) + 1, None) for _ in range(count)]


def fill(engine: Engine, year: Year) -> float:
    started = time.perf_counter()
    tickets: list[dict[str, Any]] = []
    callbacks: list[dict[str, Any]] = []
    calls = list(year.call_rows(tickets, callbacks))
    tickets += year.other_tickets(max(0, year.tickets - len(tickets)))
    with engine.begin() as conn:
        conn.execute(insert(Organisation), list(year.organisations()))
        for batch in batches(year.people(), BATCH):
            conn.execute(insert(Contact), batch)
        for batch in batches(iter(tickets), BATCH):
            conn.execute(insert(Ticket), batch)
        for batch in batches(iter(calls), BATCH):
            conn.execute(insert(CallRecord), batch)
        for batch in batches(iter(year.history), BATCH):
            conn.execute(insert(TicketHistory), batch)
        for batch in batches(iter(callbacks), BATCH):
            conn.execute(insert(Callback), batch)
    print(f"  fill: {len(calls):,} calls, {len(tickets):,} tickets, {len(year.history):,} status rows, "
          f"{len(callbacks):,} callbacks in {time.perf_counter() - started:.1f} s", flush=True)
    return time.perf_counter() - started


RULES = ReportRules(fcr=FcrRule(), targets={k: float(v) for k, v in HOURS.items()})
AS_OF = datetime(2027, 1, 20, tzinfo=UTC)
TZ = "Europe/Berlin"


def _line(name: str, label: str, offered: int, runs: list[float], extra: str = "") -> None:
    p99 = sorted(runs)[max(0, round(0.99 * len(runs)) - 1)]
    print(f"{name:10} {label:24} offered {offered:>8,}  p50 {statistics.median(runs) * 1000:8.0f} ms  "
          f"p99 {p99 * 1000:8.0f} ms{extra}, {len(runs)} runs", flush=True)


def _periods() -> list[tuple[str, Any, str]]:
    zone = ZoneInfo(TZ)
    month = period("month", zone, anchor=date(2026, 11, 15))
    year = period("custom", zone, first=date(2026, 1, 1), last=date(2026, 12, 31))
    return [("month (Nov)", month, "queue"), ("year (2026)", year, "queue"),
            ("year by organisation", year, "organisation")]


def time_raw(engine: Engine, name: str, repeat: int) -> None:
    sessions = session_factory(engine)
    for label, p, group in _periods()[:2]:
        load_s, total_s, offered = [], [], 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            facts = report_data.load(sessions, p.start, p.end, RULES.fcr.days)
            t1 = time.perf_counter()
            report = build(p, group, facts, RULES, AS_OF)
            load_s.append(t1 - t0)
            total_s.append(time.perf_counter() - t0)
            offered = report["total"]["offered"]
        _line(name, "raw " + label, offered, total_s,
              f"  (of which reading p50 {statistics.median(load_s) * 1000:8.0f} ms)")


def time_aggregates(engine: Engine, name: str, repeat: int) -> None:
    sessions = session_factory(engine)
    started = time.perf_counter()
    with sessions() as s:
        kept = report_agg_store.rules_match(report_agg_store.meta(s), RULES, TZ)
    if kept:  # a kept database (--pg-keep) built before: the catch-up rolls up what is missing
        report_agg_store.catch_up(sessions, RULES, TZ, AS_OF)
        print(f"  aggregates kept, caught up in {time.perf_counter() - started:.1f} s", flush=True)
    else:
        with sessions.begin() as s:
            days = report_agg_store.rebuild(s, RULES, TZ, AS_OF)
        print(f"  aggregates built: {days} days (and the months) in {time.perf_counter() - started:.1f} s",
              flush=True)
    for label, p, group in _periods():
        runs, offered = [], 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            report_agg_store.catch_up(sessions, RULES, TZ, AS_OF)
            report = report_agg_read.report(sessions, p, group, RULES, AS_OF)
            runs.append(time.perf_counter() - t0)
            assert report is not None
            offered = report["total"]["offered"]
        _line(name, label, offered, runs)


def _call_end(sessions: sessionmaker[Any], n: int, rng: random.Random) -> float:
    """One call end as tickets.calls_service writes it; seconds."""
    at = datetime(2026, 12, 10, 9, tzinfo=UTC) + timedelta(seconds=n * 7)
    contact = rng.randrange(1000) + 1
    values = {"caller_number": f"+4930{contact:08d}", "contact_id": contact, "queue": "hotline", "entered_at": at,
              "answered_at": at + timedelta(seconds=12), "ended_at": at + timedelta(seconds=200),
              "wait_seconds": 12.0, "talk_seconds": 188.0, "agent": "PJSIP/1001", "outcome": "answered"}
    t0 = time.perf_counter()
    with sessions.begin() as s:
        dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
        s.execute(dialect.insert(CallRecord).values(site="main", linkedid=f"w{n}", **values)
                  .on_conflict_do_nothing(index_elements=["site", "linkedid"]))
        s.execute(update(CallRecord).where(CallRecord.site == "main", CallRecord.linkedid == f"w{n}")
                  .values(**values))
    return time.perf_counter() - t0


def time_writes(engine: Engine, name: str, writes: int) -> None:
    """Call ends without and with the marking hooks, alternately (the load on a shared
    machine drifts; alternating gives both the same)."""
    rng = random.Random(4)
    plain, hooked = sessionmaker(engine, expire_on_commit=False), session_factory(engine)
    runs: dict[str, list[float]] = {"call end, no aggregates": [], "call end, marking": []}
    for n in range(writes):
        runs["call end, no aggregates"].append(_call_end(plain, 2 * n, rng))
        runs["call end, marking"].append(_call_end(hooked, 2 * n + 1, rng))
    for label, times in runs.items():
        _line(name, label, 0, times)
    t0 = time.perf_counter()
    while report_agg_store.catch_up(session_factory(engine), RULES, TZ, AS_OF):
        pass
    spent = time.perf_counter() - t0
    print(f"{name:10} catch-up of those {writes} calls' days: {spent * 1000:.0f} ms = "
          f"{spent * 1000 / writes:.2f} ms per call", flush=True)


@contextlib.contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/reports.db"
        upgrade(url)
        yield url


@contextlib.contextmanager
def _scratch(pg: str) -> Iterator[str]:
    with scratch_schema(pg, "bench_reports") as url, raised(url) as served:
        yield served


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 450,000 calls and 600,000 tickets")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default="", help="PostgreSQL URL (a throwaway schema is made in it)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--pg-keep", default="", help="PostgreSQL URL of a database kept between runs: "
                        "filled only when it holds no calls (the fill takes minutes at full scale)")
    parser.add_argument("--fill-only", action="store_true", help="with --pg-keep: fill it, time nothing")
    parser.add_argument("--raw", action="store_true", help="also time the reports from raw rows (slow)")
    parser.add_argument("--writes", type=int, default=300, help="call ends written for the write cost")
    parser.add_argument("--realtime", action="store_true",
                        help="run at SCHED_FIFO priority, with the PostgreSQL backends serving it (root; bench/_db.py)")
    args = parser.parse_args()
    if args.realtime:
        realtime()
    calls, tickets = int(450_000 * args.scale), int(600_000 * args.scale)
    targets: list[tuple[str, Any]] = [] if args.no_sqlite else [("sqlite", sqlite_url())]
    if args.pg:
        targets.append(("postgresql", _scratch(args.pg)))
    if args.pg_keep:
        targets.append(("postgresql", raised(args.pg_keep)))
    for name, opener in targets:
        with opener as url:
            if name == "postgresql":
                upgrade(url)
            engine = make_engine(url)
            try:
                print(f"{name}:", flush=True)
                with engine.connect() as conn:
                    held = conn.scalar(select(func.count()).select_from(CallRecord))
                if held:
                    print(f"  kept database: {held:,} calls already there, not filled", flush=True)
                else:
                    fill(engine, Year(calls, tickets))
                if args.fill_only:
                    continue
                if args.raw:
                    time_raw(engine, name, args.repeat)
                time_aggregates(engine, name, args.repeat)
                time_writes(engine, name, args.writes)
            finally:
                engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
