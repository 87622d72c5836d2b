"""Sustained load with real SIP: SIPp callers at a steady rate -> private Asterisk 22 with
200 agents (a SIPp UAS answering for all of them) -> `hotline serve` -> 200 agent consoles.

Run: .venv/bin/python bench/bench_load.py [--rate 50] [--minutes 5] [--agents 200]
     [--answer-after 0.5] [--talk 3] [--max-wait 60] [--patience 120]
(as root: Asterisk and SIPp run in the chroot of hotline_cli.pbx_root.)
`--minutes 0.5 --rate 5` is a quick run. Long runs stay here, never in tests/.

Set-up: a private Asterisk with --agents agents (2001, 2002, ...) answered by one SIPp
UAS and its callers (bench/_load.LoadPbx: the UAS rings --answer-after s, answers, talks
--talk s and hangs up); a fresh SQLite database with users agent2001... (PJSIP/2001...);
`hotline serve` as its own process (its writer in a process of its own, as always); one
WebSocket client per agent, logged in like a browser, reading all the time. Callers: one
SIPp process placing rate x minutes x 60 calls into 5555 at --rate/s, all from one
number, waiting up to --patience s after 5555 answered.

Printed per minute of the run (and after it, while the last calls finish): the columns of
bench/_load.Meter (offered, joined, answered, tickets, records, pops, our part p50/p99,
serve and its writer's CPU, serve RSS, Asterisk CPU). Totals at the end: SIPp's own
counts (callers and the UAS), calls without a record, a ticket or a pop, and duplicates
(two tickets or records for one call, two pops of one call at one agent). Everything
shares this machine (Asterisk, two SIPp, hotline serve and its writer, this process): if
the rate cannot be held here, the table shows where it broke (offered falls behind,
answered lags, SIPp failures). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bench._census import read as census
from bench._live import (
    PASSWORD,
    RTP_RANGE,
    Feed,
    ProcStats,
    Rig,
    machine,
    raise_nofile,
    run_rig,
    sigterm_as_interrupt,
    steadiness,
)
from bench._load import (
    Counts,
    LoadPbx,
    Meter,
    Minute,
    agents,
    load_arguments,
    open_agents,
    print_minute,
    settle,
)
from tests.serve_process import serve
from tickets.db import make_engine, session_factory
from tickets.migrate import upgrade
from tickets.models import Role, User
from tickets.users import hash_password


class LoadRig(Rig):
    """Asterisk, the UAS, the database, `hotline serve`; `with LoadRig(...) as rig:` stops all."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.extensions = args, agents(args.agents)
        super().__init__("bench-load")

    def _start(self) -> None:
        t = time.monotonic()
        self.site = LoadPbx(self.args, "bench-load", self.extensions, RTP_RANGE)
        self.site.start(self.stack)
        upgrade(self.url)
        pw = hash_password(PASSWORD)  # one argon2 hash for all: fast set-up
        with session_factory(make_engine(self.url)).begin() as s:
            s.execute(insert(User), [{"username": f"agent{e}", "password_hash": pw, "role": Role.AGENT,
                                      "endpoint": f"PJSIP/{e}"} for e in self.extensions])
        self.counts = Counts(self.url)
        self.census = self.tmp / "census" if self.args.census else None
        if self.census is not None:
            self.census.mkdir()
        self.serve_proc = self.stack.enter_context(serve(
            self.site.pbx, self.url, self.port, secrets.token_urlsafe(24), self.log,
            HOTLINE_LOGIN_RATE_LIMIT_PER_MINUTE="100000", **(census.serve_env(self.census) if self.census else {})))
        self.serve_stats = ProcStats(self.serve_proc.pid)
        self.site.wait_members_free(60)
        print(f"rig up in {time.monotonic() - t:.1f} s: {self.site.describe()}, hotline serve pid "
              f"{self.serve_proc.pid} on {self.base}; work folder {self.tmp}", flush=True)


async def run(rig: LoadRig, args: argparse.Namespace) -> int:
    feed = Feed()
    t = time.monotonic()
    clients = await open_agents(rig.base, rig.extensions, feed)
    print(f"{len(clients)} agent WebSocket clients connected in {time.monotonic() - t:.1f} s; serve RSS "
          f"{rig.serve_stats.rss_mb():.1f} MB", flush=True)
    meter = Meter(rig.site, rig.counts, feed, rig.serve_stats)
    minutes: list[Minute] = []
    taken: list[dict[str, Any]] = []  # --census: serve's object census after each minute
    callers = rig.site.call("+49 30 5550050")
    try:
        start, k = time.monotonic(), 0
        while callers.proc.poll() is None:
            k += 1
            await asyncio.sleep(max(0.0, start + 60 * k - time.monotonic()))
            minutes.append(await meter.minute(str(k)))
            print_minute(minutes[-1], header=k == 1)
            if rig.census is not None:  # after the row: its pause falls into the next minute
                taken.append(await asyncio.to_thread(census.take, rig.serve_proc.pid, rig.census, k))
        out, _ = await asyncio.to_thread(callers.proc.communicate)
        callers.output = out or ""
        ended = await settle([meter])
        minutes.append(await meter.minute("end"))
        print_minute(minutes[-1], header=not minutes[:-1])
        print()
        print("\n".join(meter.totals()))
        if len(taken) >= 2:
            print("\n".join(census.growth(taken[0], taken[-1], sum(m.offered for m in minutes[1:-1]))))
        print(f"settled: {ended}; serve RSS peak {rig.serve_stats.hwm_mb():.1f} MB; WebSocket clients still open "
              f"{sum(c.alive for c in clients)}/{len(clients)}; serve log 'too slow' lines "
              f"{rig.log.read_text(errors='replace').count('too slow') if rig.log.exists() else 0}")
        return 0
    finally:
        dropped = [c.who for c in clients if not c.alive]
        if dropped:
            print(f"WebSocket clients closed during the run: {len(dropped)}: {feed.closed_early[:5]}")
        await asyncio.gather(*(c.close() for c in clients))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    load_arguments(p, rate=50, minutes=5, agents=200, talk=3)
    p.add_argument("--census", action="store_true",
                   help="count serve's objects by type after each minute (bench/_census) and print what grew per "
                        "call; its pauses make the latency figures of that run not ones to quote")
    args = p.parse_args()
    raise_nofile(8192)
    print(machine())
    print(steadiness())
    print(f"{args.rate:g} calls/s for {args.minutes:g} min ({round(args.rate * args.minutes * 60)} calls) into "
          f"{args.agents} agents; ring {args.answer_after:g} s, talk {args.talk:g} s, wrap-up 0, queue max wait "
          f"{args.max_wait} s", flush=True)
    with sigterm_as_interrupt(), LoadRig(args) as rig:
        return run_rig(rig.log, run(rig, args))


if __name__ == "__main__":
    sys.exit(main())
