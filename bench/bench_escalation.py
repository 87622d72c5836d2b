"""The timed escalation scan over 100,000 open tickets, on SQLite and PostgreSQL: how long
a scan takes and how long it holds the event loop.

Run: .venv/bin/python bench/bench_escalation.py [--tickets 100000] [--due 1000]
     [--pg postgresql+psycopg://user@host/db]
SQLite is a fresh file migrated with tickets.migrate.upgrade; PostgreSQL a throwaway
schema. `--tickets` open tickets go in through SQLAlchemy Core (70 % level 1, 25 %
level 2, 5 % level 3, every priority), `--due` of the level-2 ones past their level
time and `--due` others past their contractual time; the rest due in the future.
Then, in one asyncio loop with agent_console.escalation_job.EscalationJob (the scan
in its own process, as `hotline serve` runs it; with --thread also on a worker thread,
for comparison; the bus and a hub as in the app; one task-force mail address):
  1. the burst: the first scan, which moves the due level-2 tickets to level 3 and
     raises the alarms (history rows, mails queued, messages published);
  2. steady state: 20 scans with nothing due (what every instance does every 30 s);
  3. two schedulers at once, an hour later: `--due` more level-2 tickets fell due, and
     whatever else the hour made due (no ticket may be moved or alarmed twice: checked).
Printed: scan wall time (p50/max), the event loop's longest wake-up lateness (a 1 ms
ticker) and the longest loop callback, wall and CPU (bench_writes.CallbackTimer: the
time our code held the loop, which the OS scheduling others does not inflate); first a
baseline with no scan, for what the machine's own scheduling adds to the lateness.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent_console.escalation_job import EscalationJob  # noqa: E402
from agent_console.hub import Hub  # noqa: E402
from bench._db import databases, parser, realtime  # noqa: E402
from bench.bench_writes import CallbackTimer, LagMonitor  # noqa: E402
from cti.bus import EventBus  # noqa: E402
from tickets.db import make_engine, session_factory  # noqa: E402
from tickets.escalation import Escalator  # noqa: E402
from tickets.escalation_process import EscalatorConfig, executor  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import Notification, Priority, Ticket, TicketStatus  # noqa: E402
from tickets.outbox import NoticeConfig  # noqa: E402
from tickets.sla import SlaPolicy  # noqa: E402

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BATCH = 5_000
POLICY = SlaPolicy({p: 24.0 for p in Priority}, None, "Europe/Berlin")


def seed(url: str, tickets: int, due: int) -> None:
    rng = random.Random(16)
    engine = make_engine(url)
    level2 = [i for i in range(tickets) if i % 20 in range(14, 19)]  # 25 %
    late_level2 = set(rng.sample(level2, due))
    late_contract = set(rng.sample([i for i in range(tickets) if i not in late_level2], due))
    rows = []
    with engine.begin() as conn:
        for i in range(tickets):
            level = 2 if i % 20 in range(14, 19) else 3 if i % 20 == 19 else 1
            created = NOW - timedelta(minutes=rng.randint(1, 60 * 20))
            rows.append({
                "number": f"2026-{i + 1:06d}", "subject": f"Ticket {i}", "description": "", "level": level,
                "status": TicketStatus.OPEN.value, "priority": rng.choice(list(Priority)).value, "team": "",
                "assignee": "", "category": "", "channel": "phone", "first_contact_resolution": False,
                "created_at": created, "updated_at": created, "version": 1,
                "due_at": (NOW - timedelta(minutes=5) if i in late_contract
                           else NOW + timedelta(hours=rng.randint(1, 72))),
                "level_due_at": (NOW - timedelta(minutes=1) if i in late_level2
                                 else NOW + timedelta(hours=rng.randint(1, 48)) if level == 2 else None)})
            if len(rows) == BATCH:
                conn.execute(insert(Ticket), rows)
                rows = []
        if rows:
            conn.execute(insert(Ticket), rows)
        conn.execute(text("ANALYZE"))
    engine.dispose()


def make_due(url: str, count: int) -> None:
    """A fresh burst for the two-scheduler round: `count` more level-2 tickets fall due."""
    engine = make_engine(url)
    with engine.begin() as conn:
        ids = list(conn.scalars(select(Ticket.id).where(Ticket.level == 2).order_by(Ticket.id).limit(count)))
        conn.execute(update(Ticket).where(Ticket.id.in_(ids)).values(level_due_at=NOW + timedelta(minutes=30)))
    engine.dispose()


async def timed_scans(jobs: list[EscalationJob], rounds: int) -> tuple[list[float], list[int], LagMonitor,
                                                                       CallbackTimer]:
    monitor = LagMonitor()
    ticker = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.05)
    walls, counts = [], []
    with CallbackTimer() as timer:
        for _ in range(rounds):
            t0 = time.perf_counter()
            results = await asyncio.gather(*(job.scan() for job in jobs))
            walls.append(time.perf_counter() - t0)
            moved = [t["id"] for r in results for t in r.escalated]
            alarmed = [a["ticket"]["id"] for r in results for a in r.alarms]
            assert len(set(moved)) == len(moved) and len(set(alarmed)) == len(alarmed), "a step done twice"
            counts.append(len(moved) + len(alarmed))
    ticker.cancel()
    return walls, counts, monitor, timer


def line(label: str, walls: list[float], counts: list[int], monitor: LagMonitor, timer: CallbackTimer) -> None:
    ordered = sorted(walls)
    print(f"  {label:<34} scan p50 {ordered[len(ordered) // 2] * 1000:8.1f} ms  max {ordered[-1] * 1000:8.1f} ms"
          f"  steps {sum(counts):5d} (moved + alarms)  loop: late max {monitor.ms(1.0):6.2f} ms"
          f" (p99 {monitor.ms(0.99):4.2f}),"
          f" longest callback {timer.worst(timer.wall):5.2f} ms wall / {timer.worst(timer.cpu):5.2f} ms CPU")


def run(label: str, url: str, tickets: int, due: int, process: bool) -> None:
    upgrade(url)
    t0 = time.perf_counter()
    seed(url, tickets, due)
    where = "own process (tickets.escalation_process)" if process else "worker thread"
    print(f"{label}, scan on a {where}: {tickets:,} open tickets seeded in {time.perf_counter() - t0:.1f} s")
    engine = make_engine(url)
    sessions = session_factory(engine)
    clock = {"now": NOW}

    alarm_to = ("taskforce@example.org",)
    pools = []

    def job() -> EscalationJob:
        escalator = Escalator(sessions, POLICY, NoticeConfig(), alarm_to)
        pool = executor(EscalatorConfig(url, POLICY, NoticeConfig(), alarm_to)) if process else None
        if pool is not None:
            pool.submit(int).result()  # the worker started before measuring
            pools.append(pool)
        return EscalationJob(escalator, EventBus(), Hub(), lambda: clock["now"], 30, pool)

    async def idle() -> tuple[list[float], list[int], LagMonitor, CallbackTimer]:
        """The same measures with no scan for 3 s: what this machine's scheduling alone costs."""
        monitor = LagMonitor()
        ticker = asyncio.create_task(monitor.run())
        with CallbackTimer() as timer:
            await asyncio.sleep(3)
        ticker.cancel()
        return [0.0], [0], monitor, timer

    async def main() -> None:
        line("baseline: no scan, 3 s", *await idle())
        one = job()
        line("burst (first scan)", *await timed_scans([one], 1))
        line("steady state (nothing due), x20", *await timed_scans([one], 20))
        await asyncio.to_thread(make_due, url, due)
        clock["now"] = NOW + timedelta(hours=1)
        line("two schedulers, fresh burst", *await timed_scans([one, job()], 1))

    asyncio.run(main())
    for pool in pools:
        pool.shutdown()
    with sessions() as s:
        level3 = s.scalar(select(func.count()).where(Ticket.level == 3)) or 0
        mails = s.scalar(select(func.count()).select_from(Notification)) or 0
    print(f"  after: {level3:,} tickets at level 3 (seeded {tickets // 20:,}), {mails:,} task-force mails queued")
    engine.dispose()


def main() -> int:
    ap = parser(__doc__)
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--due", type=int, default=1_000)
    ap.add_argument("--thread", action="store_true",
                    help="also on a worker thread (HOTLINE_WRITER_PROCESS=false), for comparison")
    args = ap.parse_args()
    if args.realtime:
        realtime()
    for process in (True, False) if args.thread else (True,):
        for label, url in databases(args.pg):
            run(label, url, args.tickets, args.due, process)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
