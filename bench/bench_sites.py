"""Sustained load at three sites (issue 15): SIPp callers at a steady rate into each site's
private Asterisk 22 -> one bridge `hotline serve` per site -> one database and one Redis
-> one web-only `hotline serve` with the agents' consoles.

Run: .venv/bin/python bench/bench_sites.py [--rate 20] [--minutes 2] [--agents 60] [--sites 3]
     [--answer-after 0.5] [--talk 2] [--max-wait 60] [--patience 120]
     [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]
     [--all-at-web]
(as root: Asterisk and SIPp run in the chroot of hotline_cli.pbx_root.)
`--rate 2 --minutes 0.5` is a quick run. Long runs stay here, never in tests/.

Set-up, per site (a, b, c): what bench_load.py runs for one site (bench/_load.LoadPbx: a
private Asterisk whose --agents agents are answered by one SIPp UAS after --answer-after
s, talk --talk s and hang up; wrap-up 0), with extensions of its own (a 2001..., b
3001..., c 4001...: a user's endpoint is unique across the database) and its own RTP
ports, its own SIPp caller process at --rate calls/s for --minutes, and its own bridge:
`hotline serve` with HOTLINE_SITE=<site>, that Asterisk's AMI settings and queue_log, as
tests/integration/test_sites_board_live.py starts them. No trunks: callers stay at their
site. All sites on one PostgreSQL database (a scratch schema of --pg, dropped after; with
--pg '' one SQLite file, which the README allows when every site runs on one host) and
one Redis (--redis, a key prefix of this run's own; nothing is left under it). One
web-only `hotline serve` (HOTLINE_AMI_ENABLED=false, HOTLINE_SITE=a). Users agent<ext>
with their site; one WebSocket client per agent, logged in like a browser, reading all
the time.

Where the consoles are: a web-only instance pops the calls of its own site's bridge only
(README, Sites: "A web-only instance follows the bridge of its own HOTLINE_SITE for its
live calls, pops and agent actions"; the other sites it follows for the board only). So
site a's agents are at the web-only instance (its pop p99 is "one web instance's pop
p99", over Redis), b's and c's at their own bridge, the only instance that pops them.
--all-at-web puts every agent at the web-only instance (the issue's wording); b's and c's
pops are then lost as long as a web instance pops its own site only.

Printed per minute and per site (rows "<minute> <site>", then "<minute> all" summing the
sites and pooling their latencies): bench/_load.Meter's columns (offered, joined,
answered, tickets, records, pops, our part p50/p99 = AgentCalled at that site's AMI tap ->
call.ringing at that agent's client, the site's bridge CPU % of one core and its writer
processes', the bridge's RSS MB, that Asterisk's CPU %), and a line with the web-only
instance's CPU and RSS. After the calls, it waits (at most 60 s) until every call that
joined has a record before it counts: what is missing then is lost, not late. Totals per
site: SIPp's counts, calls without a record, ticket or pop, duplicates, pops naming
another site; records and tickets per `site` column (a row at no bench site is wrong);
today's answered calls per site on the web instance's board (GET /api/sites); how long
the board's read of today's calls takes at the end (every instance repeats it every TODAY_EVERY s);
error and 'too slow' lines in each serve's log. Everything shares this machine: if the
rates cannot be held here, the table shows where it broke (offered falls behind, answered
lags, tickets and records trail, our part grows). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import redis
from sqlalchemy import func, insert, select

from agent_console.site_board import TODAY_EVERY
from bench._live import (
    PASSWORD,
    SUPERVISOR,
    Feed,
    ProcStats,
    Rig,
    WsClient,
    machine,
    raise_nofile,
    run_rig,
    sigterm_as_interrupt,
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
from tests.pbx_fixture import free_tcp_port
from tests.serve_process import serve
from tickets.db import make_engine, scratch_schema, session_factory
from tickets.migrate import upgrade
from tickets.models import CallRecord, Role, Ticket, User
from tickets.reports import FinishedToday, finished_by_site
from tickets.users import hash_password

SITES = ("a", "b", "c")
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/0"
RTP_FIRST, RTP_PER_SITE = 21000, 3000  # site i: 21000 + 3000 i .. + 2999


class Site:
    """One site: its Asterisk and callers (LoadPbx), its bridge, what the database holds of it."""

    def __init__(self, args: argparse.Namespace, index: int) -> None:
        self.name = SITES[index]
        rtp = RTP_FIRST + RTP_PER_SITE * index
        self.pbx = LoadPbx(args, f"bench-sites-{self.name}", agents(args.agents, 2001 + 1000 * index),
                           (rtp, rtp + RTP_PER_SITE - 1), site=self.name)
        self.base = ""  # the bridge's http://127.0.0.1:<port>
        self.log = Path()

    def start_bridge(self, stack: contextlib.ExitStack, url: str, secret: str, folder: Path,
                     env: dict[str, str]) -> None:
        port = free_tcp_port()
        self.base, self.log = f"http://127.0.0.1:{port}", folder / f"bridge-{self.name}.log"
        proc = stack.enter_context(serve(self.pbx.pbx, url, port, secret, self.log, HOTLINE_SITE=self.name,
                                         HOTLINE_QUEUE_LOG=str(self.pbx.asterisk.queue_log), **env))
        self.proc, self.stats = proc, ProcStats(proc.pid)
        self.counts = Counts(url, self.name)
        stack.callback(self.counts.close)


class SitesRig(Rig):
    """Every site, the database schema, Redis' prefix and the web-only instance;
    `with SitesRig(...) as rig:` stops and removes all of it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sites = [Site(args, i) for i in range(args.sites)]
        super().__init__("bench-sites")
        self.log = self.tmp / "web.log"  # the web-only instance's
        self.prefix = f"hotline-bench-sites-{uuid.uuid4().hex[:8]}"

    def _start(self) -> None:
        a, t = self.args, time.monotonic()
        self._redis_ready()
        if a.pg:  # else the rig's SQLite file (every site on this one host)
            self.url = self.stack.enter_context(scratch_schema(a.pg, "bench_sites"))
        upgrade(self.url)
        self._add_users()
        for site in self.sites:
            site.pbx.start(self.stack)
        env = {"HOTLINE_REDIS_URL": a.redis, "HOTLINE_REDIS_PREFIX": self.prefix,
               "HOTLINE_LOGIN_RATE_LIMIT_PER_MINUTE": "100000"}
        secret = secrets.token_urlsafe(24)
        for site in self.sites:
            site.start_bridge(self.stack, self.url, secret, self.tmp, env)
        self.web_proc = self.stack.enter_context(serve(None, self.url, self.port, secret, self.log,
                                                       HOTLINE_SITE=self.sites[0].name, **env))
        self.web_stats = ProcStats(self.web_proc.pid)
        for site in self.sites:
            site.pbx.wait_members_free(60)
        self.board_ready(60)
        print(f"rig up in {time.monotonic() - t:.1f} s; work folder {self.tmp}; Redis prefix {self.prefix}",
              flush=True)
        for site in self.sites:
            print(f"  site {site.name}: {site.pbx.describe()}; bridge pid {site.proc.pid} on {site.base}", flush=True)
        print(f"  web-only instance (site {self.sites[0].name}): pid {self.web_proc.pid} on {self.base}", flush=True)

    def _redis_ready(self) -> None:
        client = redis.Redis.from_url(self.args.redis, socket_connect_timeout=2)
        client.ping()  # a RedisError here stops the bench before anything starts
        self.stack.callback(self._redis_clean, client)

    def _redis_clean(self, client: redis.Redis) -> None:
        """Pub/sub leaves no keys; should anything have been stored under the prefix, it goes."""
        keys = list(client.scan_iter(f"{self.prefix}*"))
        if keys:
            client.delete(*keys)
            print(f"removed {len(keys)} Redis key(s) under {self.prefix}", flush=True)
        client.close()

    def _add_users(self) -> None:
        pw = hash_password(PASSWORD)  # one argon2 hash for all: fast set-up
        rows: list[dict[str, Any]] = [{"username": SUPERVISOR, "password_hash": pw, "role": Role.SUPERVISOR}]
        rows += [{"username": f"agent{e}", "password_hash": pw, "role": Role.AGENT, "endpoint": f"PJSIP/{e}",
                  "site": s.name} for s in self.sites for e in s.pbx.extensions]
        engine = make_engine(self.url)
        with session_factory(engine).begin() as s:
            s.execute(insert(User), rows)
        engine.dispose()

    def board(self) -> dict[str, Any]:
        """GET /api/sites on the web-only instance, as its supervisor."""
        with httpx.Client(base_url=self.base, headers={"Origin": self.base}, timeout=30) as http:
            r = http.post("/api/session", json={"username": SUPERVISOR, "password": PASSWORD})
            r.raise_for_status()
            r = http.get("/api/sites")
            r.raise_for_status()
            return r.json()  # type: ignore[no-any-return]

    def board_ready(self, timeout: float) -> None:
        """Until the web-only instance's board shows every site up (it hears every bridge)."""
        deadline, states = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            states = {r["site"]: r["state"] for r in self.board()["sites"]}
            if states == {s.name: "up" for s in self.sites}:
                return
            time.sleep(1)
        raise RuntimeError(f"the web-only instance's board does not show every site up: {states}")

    def console_base(self, site: Site) -> str:
        """Where `site`'s agents open their consoles (see the module docstring)."""
        return self.base if self.args.all_at_web or site is self.sites[0] else site.base

    @property
    def logs(self) -> list[Path]:
        return [self.log, *(s.log for s in self.sites)]


async def open_consoles(rig: SitesRig, feed: Feed) -> list[WsClient]:
    """Every agent's client at its site's console_base; the instances log in side by side."""
    per_base: dict[str, list[str]] = defaultdict(list)
    for site in rig.sites:
        per_base[rig.console_base(site)] += site.pbx.extensions
    groups = await asyncio.gather(*(open_agents(base, exts, feed) for base, exts in per_base.items()))
    return [c for g in groups for c in g]


async def measure(rig: SitesRig, meters: list[Meter], label: str, first: bool, web: list[float]) -> None:
    """One minute's rows: each site, all of them, and the web-only instance's CPU and RSS."""
    rows = [await m.minute(f"{label} {s.name}") for s, m in zip(rig.sites, meters, strict=True)]
    for i, row in enumerate([*rows, Minute.total(f"{label} all", rows)]):
        print_minute(row, header=first and i == 0)
    t, cpu = time.monotonic(), rig.web_stats.cpu_seconds() + rig.web_stats.children_cpu_seconds()
    print(f"{'':>7} web-only instance: CPU {100 * (cpu - web[1]) / (t - web[0]):.0f} %, RSS "
          f"{rig.web_stats.rss_mb():.1f} MB", flush=True)
    web[:] = [t, cpu]


async def run(rig: SitesRig) -> int:
    feed = Feed()
    t = time.monotonic()
    clients = await open_consoles(rig, feed)
    where = ("all at the web-only instance" if rig.args.all_at_web
             else f"site {rig.sites[0].name}'s at the web-only instance, the others' at their bridge")
    print(f"{len(clients)} agent WebSocket clients connected in {time.monotonic() - t:.1f} s ({where})", flush=True)
    meters = [Meter(s.pbx, s.counts, feed, s.stats) for s in rig.sites]
    web = [time.monotonic(), rig.web_stats.cpu_seconds() + rig.web_stats.children_cpu_seconds()]
    callers = [s.pbx.call(f"+49 30 555005{i}") for i, s in enumerate(rig.sites)]
    try:
        start, k = time.monotonic(), 0
        while any(c.proc.poll() is None for c in callers):
            k += 1
            await asyncio.sleep(max(0.0, start + 60 * k - time.monotonic()))
            await measure(rig, meters, str(k), k == 1, web)
        for c in callers:
            out, _ = await asyncio.to_thread(c.proc.communicate)
            c.output = out or ""
        ended = await settle(meters)
        await measure(rig, meters, "end", k == 0, web)
        await asyncio.to_thread(report, rig, meters, clients, ended)
        return 0
    finally:
        dropped = [c.who for c in clients if not c.alive]
        if dropped:
            print(f"WebSocket clients closed during the run: {len(dropped)}: {feed.closed_early[:5]}")
        await asyncio.gather(*(c.close() for c in clients))


def by_site(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """(call records with an outcome, tickets) per `site` column."""
    engine = make_engine(url)
    with session_factory(engine)() as s:
        records = {site: n for site, n in s.execute(select(CallRecord.site, func.count())
                                                    .where(CallRecord.outcome.is_not(None)).group_by(CallRecord.site))}
        tickets = {site: n for site, n in s.execute(select(Ticket.site, func.count()).group_by(Ticket.site))}
    engine.dispose()
    return records, tickets


def board_read_ms(url: str) -> tuple[int, float, float]:
    """(calls, ms, ms) of the sites board's read of today's finished calls, as each instance
    runs it: its first read of the day (in full), then a read of what was written since."""
    engine = make_engine(url)
    db, now = session_factory(engine), datetime.now(UTC)
    finished_by_site(db, now - timedelta(hours=1), now)  # the pool's first connection, not timed
    reader = FinishedToday(db, lambda: now + timedelta(minutes=1))
    t = time.perf_counter()
    calls = reader(now - timedelta(days=1))
    full = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    reader(now - timedelta(days=1))
    since = (time.perf_counter() - t) * 1000
    engine.dispose()
    return calls.total.offered + calls.total.after_hours, full, since


def log_lines(path: Path) -> str:
    """A serve log's warnings and errors by level and logger, its tracebacks and 'too slow' drops."""
    lines = (path.read_text(errors="replace") if path.exists() else "").splitlines()
    kinds = Counter(" ".join(w[2:4]).rstrip(":") for line in lines
                    if len(w := line.split(maxsplit=4)) > 3 and w[2] in ("WARNING", "ERROR", "CRITICAL"))
    shown = ", ".join(f"{kind} {n}" for kind, n in kinds.most_common(4)) or "no warnings"
    return (f"{path.stem}: {shown}; {sum(line.startswith('Traceback') for line in lines)} tracebacks, "
            f"{sum('too slow' in line for line in lines)} 'too slow'")


def report(rig: SitesRig, meters: list[Meter], clients: list[WsClient], settled: bool) -> None:
    print()
    for site, meter in zip(rig.sites, meters, strict=True):
        print("\n".join(meter.totals(f"site {site.name}: ")))
    records, tickets = by_site(rig.url)
    names = {s.name for s in rig.sites}
    stray = sum(n for k, n in records.items() if k not in names) + sum(n for k, n in tickets.items() if k not in names)
    print(f"records by site column {records}; tickets by site column {tickets}; rows at no bench site {stray}")
    board = rig.board()
    print("web-only instance's board, answered today: " + ", ".join(
        f"{r['site']} {r['today'].get('answered', '?')} ({r['state']})" for r in board["sites"]))
    calls, full, since = board_read_ms(rig.url)
    print(f"the board's read of today's calls (each of the {len(rig.sites) + 1} instances, every {TODAY_EVERY:g} s): "
          f"{calls} calls in {full:.0f} ms at its first read of the day, then {since:.1f} ms a read (what was "
          "written since)")
    peaks = ", ".join(f"{s.name} {s.stats.hwm_mb():.1f} MB" for s in rig.sites)
    print(f"settled: {settled}; RSS peak: bridges {peaks}, web-only {rig.web_stats.hwm_mb():.1f} MB; WebSocket "
          f"clients still open {sum(c.alive for c in clients)}/{len(clients)}")
    if not settled:
        print("not settled: the missing records and tickets above were not written when the bench stopped "
              "waiting (lost if nothing came for 60 s, else late or lost: not told apart)")
    print("serve logs:")
    for path in rig.logs:
        print(f"  {log_lines(path)}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    load_arguments(p, rate=20, minutes=2, agents=60, talk=2)
    p.add_argument("--sites", type=int, default=3, choices=range(1, len(SITES) + 1), help="sites a, b, c")
    p.add_argument("--pg", default=PG_DEFAULT,
                   help="PostgreSQL URL; a scratch schema is created and dropped ('': a SQLite file)")
    p.add_argument("--redis", default=REDIS_DEFAULT, help="Redis URL; this run's channels get a prefix of their own")
    p.add_argument("--all-at-web", action="store_true",
                   help="every agent's console at the web-only instance (not only site a's)")
    args = p.parse_args()
    raise_nofile(8192)
    print(machine())
    per_site = round(args.rate * args.minutes * 60)
    print(f"{args.sites} sites, each {args.rate:g} calls/s for {args.minutes:g} min ({per_site} calls, "
          f"{per_site * args.sites} in all) into {args.agents} agents; ring {args.answer_after:g} s, talk "
          f"{args.talk:g} s, wrap-up 0, queue max wait {args.max_wait} s", flush=True)
    with sigterm_as_interrupt(), SitesRig(args) as rig:
        return run_rig(rig.logs, run(rig))


if __name__ == "__main__":
    sys.exit(main())
