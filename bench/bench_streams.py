"""Three saturated AMI streams: three sites' bridges and one web-only instance on one database and one Redis.

Run: .venv/bin/python bench/bench_streams.py [--events 10000] [--pg URL] [--quiet 30] [--settle 300]
     [--keep DIR]
(`--pg ''`: one SQLite file instead, as when every site runs on one host; `--events 3000` is a smoke run)

Issue 15's done-when: one virtual hotline across sites, "one instance following three saturated
AMI streams (replayed, ~36k events/s each) with 0 events lost". What runs, all on loopback:
  * three fake Asterisks (cti.testing.FakeAmiServer, in a child process of their own): each greets,
    takes the login, answers Getvar, CoreShowChannels and QueueStatus (empty lists) and Ping. Once
    all three bridges have resynced and the web instance has all three sites up, each replays
    bench_ami.corpus(--events) (recorded Asterisk 22 bytes, fresh Linkedids per call) as fast as
    its socket takes it. All three replay the same bytes: the Linkedids collide across sites on
    purpose (the same text at a and b is two calls);
  * three bridges, `hotline serve` with HOTLINE_SITE a, b and c, each on one fake Asterisk (its
    queue_log an empty file of its own), and one web-only `hotline serve` (HOTLINE_SITE a, no AMI),
    all on one PostgreSQL scratch schema and one Redis (a channel prefix of this run's own);
  * `redis-cli SUBSCRIBE` on the three sites' events channels and the peers channel into a file
    (what each bridge published on the bus, its announcements among it; read as it grows) and a
    supervisor's WebSocket on the web instance.
Printed per site (times in seconds from the first byte of the replay):
  * taken: until the bridge had read the last byte (its socket's receive queue empty,
    /proc/net/tcp), events/s over that time, and the share of it the fake server waited for the
    socket: above 0 the replay outran the bridge's reader (the stream was saturated). The reader
    only parses and queues (cti.connection), so this is not how fast the bridge works:
    worked: until the bridge handled the end of the replay's last call (the latest ended_at of
    the site's call records: the registry stamps each event when it handles it), events/s over
    that; ended: until that had gone out on the bus too (the site's last call of the replay
    ended on its events channel; to 0.2 s); done: until its call records,
    tickets and the web instance's board were complete; AMI logins (1: the bridge never
    reconnected); events its relay dropped; silent: the longest time no announcement of its
    bridge came over Redis (every 5 s when all is well; a web instance shows the site down after 15);
  * calls: in the replay (the same bytes through cti.tracker, offline) / ended on the bus
    (CallUpdated "ended" frames the bridge published; seq gaps: frames its relay dropped) /
    call records of that site (and of them with the replay's outcome) / tickets (one per answered
    call) / the web instance: site a's calls as `call.ended` on the supervisor's WebSocket (a
    web-only instance follows its own site's calls; the others it follows as a queue picture), and
    for every site its board (GET /api/sites: today's finished calls, read from the database,
    callers still waiting, up or down) and how often a poll found a site shown down;
  * lost: a call of the replay that never reached that stage by the end of the settle time
    (everything arrived, or nothing moved for --quiet s, at most --settle s after the replay);
    duplicated: one that reached it twice;
  * CPU (seconds, and % of one core from the first byte to the end of the settle time) and RSS
    (at the end; serve's peak is its supervisor login's argon2 check, 64 MiB) of each bridge and of
    the web instance (serve, and its child processes: the writer's among them); the rig's own CPU,
    how busy the machine was, the load average at start and end.
    Everything shares this machine's CPUs: compare with bench_ami's in-process figure for parse +
    translate + registry, which is what a bridge's own steps could do on a core of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import multiprocessing
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection

from agent_console.auth import COOKIE
from agent_console.scaleout.link import Channels
from bench._live import PASSWORD, ProcStats, Rig, connect_ws, login, machine, sigterm_as_interrupt
from bench.bench_ami import chunks, corpus
from bench.run_all import PG_DEFAULT
from cti import events as ev
from cti.bridge import WRAPUP_VARIABLE
from cti.protocol import AmiMessage
from cti.testing import FakeAmiServer
from cti.tracker import CallTracker
from hotline_cli.asterisk import AMI_USERNAME
from tests.pbx_fixture import free_tcp_port
from tests.serve_process import children, serve
from tickets.db import make_engine, scratch_schema, session_factory
from tickets.migrate import upgrade
from tickets.models import CallRecord, Role, Ticket
from tickets.users import UserService

SITES = ("a", "b", "c")
# Redis as the tests find it (tests/console/redis/rig.py; importing that drags in the TestClient)
REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WEB_SITE = "a"  # the web-only instance follows this site's calls; the others as a queue picture
SUPERVISOR = "bench-sup"
QUEUE = "hotline"
WRITE = 64 * 1024  # bytes per write into a fake Asterisk's socket
POLL = 0.5  # seconds between polls of the instances and the database


# --- the replay and what it holds -----------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    data: bytes
    events: int
    outcomes: dict[str, str]  # linkedid -> outcome of every call that ends in the replay
    answered: frozenset[str]  # the calls that get a ticket


def replay_of(events: int) -> Replay:
    """bench_ami's corpus, and its calls as the bridge's own steps see them (cti.tracker)."""
    data, count = corpus(events)
    tracker, now = CallTracker(), datetime.now(UTC)
    outcomes: dict[str, str] = {}
    answered: set[str] = set()
    for chunk in chunks(data):
        for u in tracker.feed(chunk, now):
            if isinstance(u, ev.CallUpdated) and u.change == ev.CallChange.ANSWERED:
                answered.add(u.call.linkedid)
            elif isinstance(u, ev.CallUpdated) and u.change == ev.CallChange.ENDED and u.call.outcome:
                outcomes[u.call.linkedid] = u.call.outcome.value
    return Replay(data, count, outcomes, frozenset(answered))


# --- the fake Asterisks (a child process) ------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """One stream's replay, in time.monotonic() seconds (system-wide: comparable across processes)."""

    first: float  # the first byte written
    handed: float  # the last byte handed to the kernel (or the connection was lost)
    taken: float  # the bridge had read every byte (or the connection was lost)
    waited: float  # seconds the server waited for the socket (it was full)
    written: int  # bytes written before the end or before the connection was lost
    cut: bool  # the bridge dropped the connection during the replay: what it had not read is gone


def unread(port: int) -> int:
    """Bytes on their way to the client of the server on `port`: the server side's send queue and
    the client side's receive queue (/proc/net/tcp; loopback IPv4; the listener left out)."""
    total = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        local, remote, state = int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16), f[3]
        tx, rx = (int(x, 16) for x in f[4].split(":"))
        if state == "0A":  # LISTEN
            continue
        total += tx if local == port else rx if remote == port else 0
    return total


class ReplayServer(FakeAmiServer):
    """A fake Asterisk that replays bytes into its one logged-in connection as fast as it takes
    them; its Uptime grows, so a bridge that reconnects sees the same Asterisk, not a restart."""

    booted = time.monotonic() - 100

    @property
    def resynced(self) -> bool:
        return "QueueStatus" in self.names()  # the last list the bridge asks for after connecting

    def _login(self, msg: AmiMessage, writer: asyncio.StreamWriter) -> None:
        self.uptime = int(time.monotonic() - self.booted)
        super()._login(msg, writer)

    async def replay(self, data: bytes) -> Taken:
        writer = self._writers[0]
        high = writer.transport.get_write_buffer_limits()[1]
        waited, written = 0.0, 0
        first = time.monotonic()
        with contextlib.suppress(ConnectionError):  # the bridge dropped the connection
            while written < len(data) and not writer.is_closing():
                writer.write(data[written:written + WRITE])
                written = min(len(data), written + WRITE)
                if writer.transport.get_write_buffer_size() > high:  # the socket is full: the bridge is behind
                    t = time.monotonic()
                    await writer.drain()
                    waited += time.monotonic() - t
                else:
                    await asyncio.sleep(0)  # the other streams' turn
        while writer.transport.get_write_buffer_size() and not writer.is_closing():  # noqa: ASYNC110 (no event)
            await asyncio.sleep(0.001)
        handed = time.monotonic()
        while unread(self.port) and not writer.is_closing():  # noqa: ASYNC110 (the kernel's queue has no event)
            await asyncio.sleep(0.002)
        return Taken(first, handed, time.monotonic(), waited, written, writer.is_closing())


def fake_asterisks(conn: Connection, data: bytes, secret: str) -> None:
    """The child process: ports out; "resynced" out; "go" in, each site's Taken out; "logins" in, each
    site's AMI logins out (1: the bridge never reconnected); "stop" in."""
    asyncio.run(_fake_asterisks(conn, data, secret))


async def _fake_asterisks(conn: Connection, data: bytes, secret: str) -> None:
    servers = {s: ReplayServer(secret=secret, variables={WRAPUP_VARIABLE: "0"}) for s in SITES}
    try:
        for server in servers.values():
            await server.start()
        conn.send({s: server.port for s, server in servers.items()})
        while not all(server.resynced for server in servers.values()):  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.05)
        conn.send("resynced")
        await asyncio.to_thread(conn.recv)
        taken = await asyncio.gather(*(server.replay(data) for server in servers.values()))
        conn.send({site: dataclasses.astuple(t) for site, t in zip(servers, taken, strict=True)})
        while await asyncio.to_thread(conn.recv) == "logins":  # the connections stay up (answering pings)
            conn.send({s: server.logins for s, server in servers.items()})
    finally:
        for server in servers.values():
            await server.stop()


class FakeAsterisks:
    """The fake Asterisks in a process of their own (this one's loop serves the clients and polls);
    `with FakeAsterisks(...) as fake:` stops it on exit."""

    def __init__(self, data: bytes, secret: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.proc = context.Process(target=fake_asterisks, args=(theirs, data, secret), name="fake-asterisks")

    def __enter__(self) -> Self:
        self.proc.start()
        if not self.conn.poll(60):
            self.__exit__()
            raise RuntimeError("the fake Asterisks did not start")
        self.ports: dict[str, int] = self.conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.conn.send("stop")
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None
        return self.proc.pid

    def send(self, message: str) -> None:
        self.conn.send(message)

    async def receive(self, what: str, timeout: float = 3600) -> Any:
        """The child's next message, never waiting on a dead child (nor for ever)."""
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self.conn.poll, 0.5):
            if not self.proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"no {what} from the fake Asterisks (exit code {self.proc.exitcode})")
        return self.conn.recv()


# --- the instances -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakePbx:
    """A fake Asterisk as tests.serve_process.serve wants it."""

    ami_port: int
    ami_secret: str
    agi_port: int
    ami_username: str = AMI_USERNAME


@dataclass
class Instance:
    """One `hotline serve`: its address, process and log."""

    name: str
    site: str
    base: str
    proc: subprocess.Popen[str]
    log: Path
    cookie: str = ""

    def pids(self) -> list[int]:
        """serve and its children (the writer process)."""
        return [self.proc.pid, *children(self.proc.pid)]

    def cpu(self) -> dict[int, float]:
        out = {}
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                out[pid] = ProcStats(pid).cpu_seconds()
        return out

    def rss_mb(self) -> list[tuple[float, float]]:
        """(RSS now, peak RSS) of serve and of each child process, serve first."""
        out = []
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError):
                out.append((ProcStats(pid).rss_mb(), ProcStats(pid).hwm_mb()))
        return out

    def warnings(self, most: int = 3) -> list[str]:
        """The commonest WARNING/ERROR log messages (numbers as #), with how often each came."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        found = Counter(re.sub(r"\d+", "#", line.split(" ", 2)[2])[:150] for line in text.splitlines()
                        if " WARNING " in line or " ERROR " in line)
        return [f"{n}x {message}" for message, n in found.most_common(most)]

    def log_lines(self, *words: str) -> int:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return sum(1 for line in text.splitlines() if any(w in line for w in words))


class StreamsRig(Rig):
    """The database, the three bridges, the web instance and the bus tap; `with` stops them all."""

    def __init__(self, pg: str, ports: dict[str, int], ami_secret: str, keep: Path | None = None) -> None:
        self.pg, self.ami_ports, self.ami_secret, self.keep = pg, ports, ami_secret, keep
        self.prefix = f"hotline-bench-{uuid.uuid4().hex[:8]}"
        super().__init__("bench-streams")
        self.bridges: dict[str, Instance] = {}
        self.helpers = {"this process": os.getpid()}  # the rig's own processes, for their CPU

    def channel(self, site: str) -> str:
        return Channels.of(self.prefix, QUEUE, site).events

    @property
    def peers(self) -> str:
        return Channels.of(self.prefix, QUEUE).peers

    def _start(self) -> None:
        if self.keep is not None:  # after everything stopped, before the folder goes
            self.stack.callback(shutil.copytree, self.tmp, self.keep, dirs_exist_ok=True)
        # a PostgreSQL scratch schema (dropped afterwards), or with pg '' the SQLite file in the work folder
        self.db_url = self.stack.enter_context(scratch_schema(self.pg, "hl_streams")) if self.pg else self.url
        upgrade(self.db_url)
        engine = make_engine(self.db_url)
        self.stack.callback(engine.dispose)  # before the scratch schema goes
        self.db = session_factory(engine)
        UserService(self.db).add(SUPERVISOR, PASSWORD, Role.SUPERVISOR)
        self.tap_file = self.tmp / "bus.txt"
        self.tap_end = f"{self.prefix}:bench-end"
        self._tap()
        env = {"HOTLINE_REDIS_URL": REDIS_URL, "HOTLINE_REDIS_PREFIX": self.prefix}
        secret = secrets.token_urlsafe(24)
        for site in SITES:
            queue_log = self.tmp / f"queue_log-{site}"
            queue_log.touch()
            self.bridges[site] = self._instance(
                f"bridge {site}", site, FakePbx(self.ami_ports[site], self.ami_secret, free_tcp_port()), secret,
                HOTLINE_QUEUE_LOG=str(queue_log), **env)
        self.web = self._instance("web", WEB_SITE, None, secret, **env)

    def _instance(self, name: str, site: str, pbx: FakePbx | None, secret: str, **env: str) -> Instance:
        port, log = free_tcp_port(), self.tmp / f"{name.replace(' ', '-')}.log"
        proc = self.stack.enter_context(serve(pbx, self.db_url, port, secret, log, HOTLINE_SITE=site, **env))
        return Instance(name, site, f"http://127.0.0.1:{port}", proc, log)

    def _tap(self) -> None:
        """redis-cli on the sites' events channels, the peers channel (and the end marker's) into a
        file, in order."""
        out = self.tap_file.open("w")
        self.stack.callback(out.close)
        proc = subprocess.Popen(["redis-cli", "-u", REDIS_URL, "SUBSCRIBE", *map(self.channel, SITES),
                                 self.peers, self.tap_end], stdout=out, stderr=subprocess.STDOUT)
        self.helpers["bus tap"] = proc.pid

        def stop() -> None:
            proc.terminate()
            proc.wait(10)

        self.stack.callback(stop)

    @property
    def instances(self) -> list[Instance]:
        return [*self.bridges.values(), self.web]

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Call records with an outcome and tickets, per site."""
        with self.db() as s:
            records = s.execute(select(CallRecord.site, func.count()).where(CallRecord.outcome.is_not(None))
                                .group_by(CallRecord.site)).all()
            tickets = s.execute(select(Ticket.site, func.count()).group_by(Ticket.site)).all()
        return {site: n for site, n in records}, {site: n for site, n in tickets}

    def last_ends(self) -> dict[str, datetime]:
        """Per site the latest end of a call record: when its bridge handled the last call's end
        (the registry stamps events with the time it handles them)."""
        with self.db() as s:
            rows = s.execute(select(CallRecord.site, func.max(CallRecord.ended_at)).group_by(CallRecord.site)).all()
        return {site: at for site, at in rows if at is not None}

    def rows(self) -> tuple[list[tuple[str, str, str | None]], list[tuple[str, str | None]]]:
        """Every call record (site, linkedid, outcome) and ticket (site, linkedid)."""
        with self.db() as s:
            records = [(r.site, r.linkedid, r.outcome) for r in s.execute(
                select(CallRecord.site, CallRecord.linkedid, CallRecord.outcome))]
            tickets = [(t.site, t.linkedid) for t in s.execute(select(Ticket.site, Ticket.linkedid))]
        return records, tickets


# --- watching the run ----------------------------------------------------------------------------


@dataclass
class SiteWatch:
    """What is polled of one site while the replay runs and settles."""

    dropped: int = 0  # events the bridge's relay dropped (Redis down) since the replay started
    dropped_before: int = 0
    backlog: int = 0
    records: int = 0
    tickets: int = 0
    board: dict[str, Any] = field(default_factory=dict)  # the web instance's row of this site
    down: Counter[str] = field(default_factory=Counter)  # web board polls that showed it down, by reason
    done_at: float | None = None  # monotonic: records, tickets and the web board complete


@dataclass
class WebFeed:
    """The web instance's supervisor WebSocket: call.ended and ticket.created per (site, linkedid)."""

    ended: Counter[tuple[str, str]] = field(default_factory=Counter)
    tickets: Counter[tuple[str, str]] = field(default_factory=Counter)
    messages: int = 0
    closed: str = ""

    @staticmethod
    def of(site: str, seen: Counter[tuple[str, str]]) -> Counter[str]:
        """`seen` (ended or tickets) of one site, by linkedid."""
        return Counter({lid: n for (s, lid), n in seen.items() if s == site})


async def read_ws(conn: ClientConnection, feed: WebFeed) -> None:
    try:
        async for raw in conn:
            feed.messages += 1
            if '"call.ended"' not in raw and '"ticket.created"' not in raw:
                continue
            msg = json.loads(raw)
            key = (msg["data"].get("site", ""), msg["data"].get("linkedid", ""))
            if msg["type"] == "call.ended":
                feed.ended[key] += 1
            elif msg["type"] == "ticket.created":
                feed.tickets[key] += 1
    except Exception as exc:  # reported, not raised: the rest of the run still counts
        feed.closed = f"{type(exc).__name__}: {exc}"


@dataclass
class Watch:
    """Everything the run is watched through: polled every POLL s while the replay runs and settles."""

    rig: StreamsRig
    http: httpx.AsyncClient
    replay: Replay
    tap: BusTap
    feed: WebFeed
    sites: dict[str, SiteWatch] = field(default_factory=lambda: {site: SiteWatch() for site in SITES})

    async def poll(self) -> None:
        """One round: each bridge's /healthz, the web instance's board, the database's counts."""
        rig, now = self.rig, time.monotonic()
        for site, bridge in rig.bridges.items():
            health = (await self.http.get(f"{bridge.base}/healthz", cookies={COOKIE: bridge.cookie})).json()
            w = self.sites[site]
            w.dropped = int(health["bus"].get("events_dropped", 0)) - w.dropped_before
            w.backlog = int(health.get("db_backlog", 0))
        r = await self.http.get(f"{rig.web.base}/api/sites", cookies={COOKIE: rig.web.cookie})
        for row in r.json()["sites"] if r.status_code == 200 else []:
            if row["site"] in self.sites:
                self.sites[row["site"]].board = row
                if row["state"] != "up":
                    self.sites[row["site"]].down[row["reason"] or "?"] += 1
        records, tickets = await asyncio.to_thread(rig.counts)
        for site, w in self.sites.items():
            w.records, w.tickets = records.get(site, 0), tickets.get(site, 0)
            if w.done_at is None and self.finished(w):
                w.done_at = now

    def started(self) -> None:
        """The replay starts now: what the relays dropped before does not count."""
        for w in self.sites.values():
            w.dropped_before, w.dropped = w.dropped, 0

    def finished(self, w: SiteWatch) -> bool:
        """The site's records, tickets and the web board's figures are all there, nobody waits."""
        calls, today = len(self.replay.outcomes), w.board.get("today", {})
        return (w.records >= calls and w.tickets >= len(self.replay.answered) and w.backlog == 0
                and today.get("offered", 0) + today.get("after_hours", 0) >= calls
                and w.board.get("waiting_count", 1) == 0)

    def everything(self) -> bool:
        return (all(self.finished(w) for w in self.sites.values())
                and all(b.all_ended_at is not None for b in self.tap.sites.values())
                and len(self.feed.of(WEB_SITE, self.feed.ended)) >= len(self.replay.outcomes))

    def progress(self) -> tuple[object, ...]:
        """What changes while calls still arrive anywhere (not the periodic frames and pushes)."""
        return (len(self.feed.ended), *(len(b.ended) for b in self.tap.sites.values()),
                *((w.records, w.tickets, w.backlog, json.dumps(w.board.get("today"))) for w in self.sites.values()))

    async def settle(self, quiet: float, most: float) -> tuple[float, str]:
        """Poll until everything arrived, nothing moved for `quiet` s, or `most` s passed;
        (the monotonic time it ended, why)."""
        start = last_move = time.monotonic()
        seen: tuple[object, ...] = ()
        while True:
            await self.poll()
            now = time.monotonic()
            if self.everything():
                return now, "everything arrived"
            if (state := self.progress()) != seen:
                seen, last_move = state, now
            if now - last_move > quiet:
                return now, f"nothing moved for {quiet:g} s"
            if now - start > most:
                return now, f"--settle {most:g} s passed"
            await asyncio.sleep(POLL)


# --- the bus tap: redis-cli's file, read as it grows ---------------------------------------------


@dataclass
class BusSite:
    """One site's events channel as the tap saw it."""

    frames: int = 0
    ended: Counter[str] = field(default_factory=Counter)  # CallUpdated "ended" per linkedid
    tickets: Counter[str] = field(default_factory=Counter)  # TicketCreated per linkedid
    seqs: dict[str, set[int]] = field(default_factory=dict)  # bridge instance -> the seq numbers seen
    all_ended_at: float | None = None  # monotonic (when read): every call of the replay had ended
    announced: list[float] = field(default_factory=list)  # monotonic (when read): its bridge's announcements

    def silence(self, since: float, until: float) -> float:
        """The longest time between `since` and `until` without an announcement of the site's bridge
        on Redis (a web instance shows the site down after 15 s of it)."""
        times = [since, *(t for t in self.announced if since < t < until), until]
        return max(b - a for a, b in itertools.pairwise(times))

    @property
    def gaps(self) -> int:
        """Seq numbers a bridge instance skipped: frames its relay dropped."""
        return sum(max(n) - min(n) + 1 - len(n) for n in self.seqs.values())


SEQ = re.compile(r'"origin":"(\w+)","seq":(\d+)')


class BusTap:
    """redis-cli's output (lines: message, channel, payload), read on from where it was left; the
    time a site's last call ended is known to the interval it is read at."""

    def __init__(self, path: Path, channels: dict[str, str], peers: str, calls: set[str]) -> None:
        self.file = path.open(encoding="utf-8", errors="replace")
        self.channels, self.peers, self.calls = channels, peers, calls
        self.sites = {site: BusSite() for site in channels.values()}
        self._lines: list[str] = []
        self._partial = ""

    def read(self, now: float) -> None:
        text = self._partial + self.file.read()
        *complete, self._partial = text.split("\n")
        self._lines += complete
        whole = len(self._lines) - len(self._lines) % 3
        for i in range(0, whole, 3):
            kind, channel, payload = self._lines[i:i + 3]
            site = self.channels.get(channel)
            if kind == "message" and site is not None:
                self._frame(self.sites[site], payload)
            elif kind == "message" and channel == self.peers and '"BridgeAnnouncement"' in payload:
                site = json.loads(payload)["fields"]["site"]
                if site in self.sites:
                    self.sites[site].announced.append(now)
        del self._lines[:whole]
        for bus in self.sites.values():
            if bus.all_ended_at is None and self.calls <= bus.ended.keys():
                bus.all_ended_at = now

    @staticmethod
    def _frame(bus: BusSite, payload: str) -> None:
        bus.frames += 1
        if m := SEQ.search(payload):
            bus.seqs.setdefault(m[1], set()).add(int(m[2]))
        if '"change":"ended"' not in payload and '"TicketCreated"' not in payload:
            return
        event = json.loads(payload)["fields"]["event"]  # json, not codec.decode: this must keep up
        fields = event["fields"]
        if event["type"] == "CallUpdated" and fields["change"] == "ended":
            bus.ended[fields["call"]["fields"]["linkedid"]] += 1
        elif event["type"] == "TicketCreated":
            bus.tickets[fields["linkedid"]] += 1

    async def follow(self, every: float = 0.2) -> None:
        """Read on every `every` s (a task of its own: the polls of busy instances take longer)."""
        while True:
            self.read(time.monotonic())
            await asyncio.sleep(every)

    def close(self) -> None:
        self.file.close()


async def tap_to_end(rig: StreamsRig, tap: BusTap) -> None:
    """The end marker through Redis into the tap's file, and everything before it read."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.publish(rig.tap_end, "end")
    finally:
        await client.aclose()
    deadline = time.monotonic() + 30
    while rig.tap_end not in rig.tap_file.read_text(errors="replace")[-2000:]:
        if time.monotonic() > deadline:
            raise RuntimeError("the bus tap never got the end marker")
        await asyncio.sleep(0.2)
    tap.read(time.monotonic())


# --- the report ------------------------------------------------------------------------------------


def lost_dup(expected: set[str] | frozenset[str], got: Counter[str]) -> str:
    lost = len(expected - set(got))
    dup = sum(1 for lid in expected if got[lid] > 1)
    extra = len(set(got) - expected)
    return f"{len(set(got) & expected):6d} lost {lost:5d} dup {dup:3d}" + (f" extra {extra}" if extra else "")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_ticks() -> list[int]:
    """The machine's CPU time so far (/proc/stat: user nice system idle iowait irq softirq steal)."""
    return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def machine_busy(before: list[int], after: list[int]) -> str:
    """How busy all CPUs were between two cpu_ticks(), and how much the hypervisor took (steal)."""
    d = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(d) or 1
    return f"CPUs busy {100 * (total - d[3] - d[4]) / total:.0f}% (of it steal {100 * d[7] / total:.0f}%)"


@dataclass
class Run:
    replay: Replay
    taken: dict[str, Taken]
    logins: dict[str, int]  # each bridge's AMI logins during the whole run (1: it never reconnected)
    watch: Watch
    settled: tuple[float, str]
    cpu: dict[str, Cpu]
    helpers: dict[str, float]  # CPU seconds of the rig's own processes over the run
    busy: str  # the whole machine over the run


def report(rig: StreamsRig, run: Run) -> int:
    replay, watch, first = run.replay, run.watch, min(t.first for t in run.taken.values())
    ends, why = run.settled
    calls, answered = set(replay.outcomes), replay.answered
    print(f"\nreplay per site: {replay.events:,} events, {len(replay.data) / 1e6:.1f} MB, {len(calls):,} calls "
          f"({dict(Counter(replay.outcomes.values()))}), {len(answered):,} answered (a ticket each)")
    print(f"\n{'site':4} {'taken s':>8} {'ev/s':>8} {'socket full':>11} {'worked s':>8} {'ev/s':>6} {'ended s':>8}"
          f" {'ev/s':>6} {'done s':>7} {'AMI logins':>10} {'relay dropped':>13} {'silent s':>8}   (seconds from the"
          f" first byte)")
    worked = rig.last_ends()
    wall = time.time() - time.monotonic()  # one clock to the other
    for site, t in run.taken.items():
        end = worked[site].timestamp() - wall if site in worked else None
        print(f"{site:4} {taken_columns(t, replay)} {rate_columns(end, first, replay)} "
              f"{rate_columns(watch.tap.sites[site].all_ended_at, first, replay)} "
              f"{since(watch.sites[site].done_at, first):>7} {run.logins[site]:10d} {watch.sites[site].dropped:6d}"
              f" {watch.tap.sites[site].silence(first, ends):8.1f}")
    print(f"all three streams taken: {3 * replay.events / (max(t.taken for t in run.taken.values()) - first):,.0f} "
          f"events/s together; settled {ends - first:.1f} s after the first byte ({why})")
    print(f"\ncalls per site (got, lost = in the replay but not there, dup = there twice); replay {len(calls):,} "
          f"calls, {len(answered):,} answered")
    records, tickets = rig.rows()
    for site in SITES:
        print_site(site, run, records, tickets)
    print(f"\n{'instance':9} {'CPU s':>7} {'% core':>7} {'serve':>7} {'others':>7}  {'RSS MB/peak':>11} {'child':>6}"
          f"  log warnings/errors   (others: serve's child processes, the writer's among them; child: the"
          f" largest one's RSS)")
    for inst in rig.instances:
        print(f"{inst.name:9} {run.cpu[inst.name].line()}  {inst.log_lines(' WARNING ')}/"
              f"{inst.log_lines(' ERROR ', 'Traceback')}")
    print("the rig itself (CPU s over the run): " + ", ".join(f"{k} {v:.1f}" for k, v in run.helpers.items())
          + f"; the machine over the run: {run.busy}")
    for inst in rig.instances:
        for line in inst.warnings():
            print(f"  {inst.name}: {line}")
    print(f"web instance: 'missed ... event(s)' lines {rig.web.log_lines('missed')}, Redis link lost "
          f"{rig.web.log_lines('lost (')}")
    return 0


def since(at: float | None, first: float) -> str:
    return "never" if at is None else f"{at - first:.1f}"


def taken_columns(t: Taken, replay: Replay) -> str:
    """taken s, ev/s, socket full; or where the bridge dropped the connection."""
    if t.cut:
        return f"cut after {t.written / 1e6:.1f} of {len(replay.data) / 1e6:.1f} MB".rjust(29)
    took = t.taken - t.first
    return f"{took:8.2f} {replay.events / took:8,.0f} {t.waited / max(t.handed - t.first, 1e-9):10.0%}"


def rate_columns(at: float | None, first: float, replay: Replay) -> str:
    """Seconds from the first byte to `at` (monotonic), and the replay's events/s over them."""
    if at is None:
        return f"{'never':>8} {'':>6}"
    took = at - first
    return f"{took:8.1f} {replay.events / took:6,.0f}"


def print_site(site: str, run: Run, records: list[tuple[str, str, str | None]],
               tickets: list[tuple[str, str | None]]) -> None:
    replay, watch = run.replay, run.watch
    calls, answered = set(replay.outcomes), replay.answered
    bus, w = watch.tap.sites[site], watch.sites[site]
    rec = Counter(lid for s, lid, outcome in records if s == site and outcome)
    right = sum(1 for s, lid, outcome in records if s == site and replay.outcomes.get(lid) == outcome)
    tix = Counter(lid or "" for s, lid in tickets if s == site)
    print(f"  {site}: ended on the bus   {lost_dup(calls, bus.ended)}   ({bus.frames:,} frames, seq gaps {bus.gaps})")
    print(f"     call records      {lost_dup(calls, rec)}   (with the replay's outcome {right:,})")
    print(f"     tickets           {lost_dup(answered, tix)}   (ticket.created on the bus "
          f"{sum(bus.tickets.values()):,})")
    today = w.board.get("today", {})
    shown = today.get("offered", 0) + today.get("after_hours", 0)
    print(f"     web board         {shown:6d} finished today, waiting {w.board.get('waiting_count', '?')}, "
          f"state {w.board.get('state', '?')}; shown down in {sum(w.down.values())} of the polls "
          f"{dict(w.down) or ''}")
    if site == WEB_SITE:
        feed = watch.feed
        print(f"     web call.ended    {lost_dup(calls, feed.of(site, feed.ended))}   (supervisor WebSocket, "
              f"{feed.messages:,} messages{'; closed: ' + feed.closed if feed.closed else ''})")
        print(f"     web ticket.created{lost_dup(answered, feed.of(site, feed.tickets))}")


# --- the run ----------------------------------------------------------------------------------------


async def log_in(rig: StreamsRig) -> None:
    for inst in rig.instances:  # one at a time: serve checks 2 passwords at once
        async with httpx.AsyncClient(base_url=inst.base, timeout=60) as http:
            inst.cookie = await login(http, inst.base, SUPERVISOR)


async def wait_ready(rig: StreamsRig, fake: FakeAsterisks, http: httpx.AsyncClient) -> None:
    """The bridges resynced with their fake Asterisks, the web instance has all three sites up."""
    if await fake.receive("resync", 60) != "resynced":
        raise RuntimeError("the bridges did not resync with the fake Asterisks")
    deadline = time.monotonic() + 60
    while True:
        r = await http.get(f"{rig.web.base}/api/sites", cookies={COOKIE: rig.web.cookie})
        if r.status_code == 200 and sorted(r.json()["up"]) == list(SITES):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the web instance does not show all three sites up: {r.text[:500]}")
        await asyncio.sleep(0.3)


@dataclass(frozen=True)
class Cpu:
    """One instance over the run: CPU seconds of serve and of its child processes (the writer ...);
    RSS of serve at the end and at its peak, and of its largest child at the end."""

    serve: float
    children: float
    seconds: float  # the run's wall time
    serve_mb: tuple[float, float]
    child_mb: float

    @staticmethod
    def of(inst: Instance, before: dict[int, float], seconds: float) -> Cpu:
        after, rss = inst.cpu(), inst.rss_mb()
        used = {pid: t - before.get(pid, 0.0) for pid, t in after.items()}
        serve = used.pop(inst.proc.pid, 0.0)
        return Cpu(serve, sum(used.values()), seconds, rss[0] if rss else (0.0, 0.0),
                   max((now for now, _ in rss[1:]), default=0.0))

    def line(self) -> str:
        total = self.serve + self.children
        return (f"{total:7.1f} {100 * total / self.seconds:6.0f}% {self.serve:7.1f} {self.children:7.1f}  "
                f"{self.serve_mb[0]:4.0f} /{self.serve_mb[1]:4.0f} {self.child_mb:6.0f}")


async def run(rig: StreamsRig, fake: FakeAsterisks, replay: Replay, args: argparse.Namespace) -> Run:
    tap = BusTap(rig.tap_file, {rig.channel(s): s for s in SITES}, rig.peers, set(replay.outcomes))
    async with httpx.AsyncClient(timeout=60) as http:
        await log_in(rig)
        await wait_ready(rig, fake, http)
        ws = await connect_ws(rig.web.base, rig.web.cookie)
        feed = WebFeed()
        reader = asyncio.create_task(read_ws(ws, feed))
        tapping = asyncio.create_task(tap.follow())
        watch = Watch(rig, http, replay, tap, feed)
        await watch.poll()
        watch.started()
        before = {inst.name: inst.cpu() for inst in rig.instances}
        helpers = {name: ProcStats(pid).cpu_seconds() for name, pid in rig.helpers.items()}
        ticks = cpu_ticks()
        print(f"ready; load average {load()}; replaying {replay.events:,} events into each of the three bridges",
              flush=True)
        fake.send("go")
        taken_task = asyncio.create_task(fake.receive("replay"))
        while not taken_task.done():
            await watch.poll()
            await asyncio.sleep(POLL)
        taken = {site: Taken(*t) for site, t in taken_task.result().items()}
        settled = await watch.settle(args.quiet, args.settle)
        fake.send("logins")
        logins: dict[str, int] = await fake.receive("logins", 10)
        first = min(t.first for t in taken.values())
        cpu = {inst.name: Cpu.of(inst, before[inst.name], settled[0] - first) for inst in rig.instances}
        helpers = {name: ProcStats(rig.helpers[name]).cpu_seconds() - t for name, t in helpers.items()}
        busy = machine_busy(ticks, cpu_ticks())
        tapping.cancel()
        await tap_to_end(rig, tap)
        await ws.close()
        reader.cancel()
    tap.close()
    return Run(replay, taken, logins, watch, settled, cpu, helpers, busy)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--events", type=int, default=10_000, help="events per stream (bench_ami's corpus)")
    ap.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL URL (a scratch schema); '' for one SQLite file")
    ap.add_argument("--quiet", type=float, default=30, help="settled when nothing moved for this many seconds")
    ap.add_argument("--settle", type=float, default=300, help="at most this many seconds after the replay")
    ap.add_argument("--keep", type=Path, help="copy the work folder (logs, the bus tap) here at the end")
    args = ap.parse_args()
    print(machine())
    print(f"load average at start {load()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    replay = replay_of(args.events)
    ami_secret = secrets.token_urlsafe(12)
    with (sigterm_as_interrupt(), contextlib.ExitStack() as stack):
        fake = stack.enter_context(FakeAsterisks(replay.data, ami_secret))
        rig = stack.enter_context(StreamsRig(args.pg, fake.ports, ami_secret, args.keep))
        rig.helpers["fake Asterisks"] = fake.pid
        try:
            result = asyncio.run(run(rig, fake, replay, args))
        except Exception:
            for inst in rig.instances:
                print(f"--- {inst.name} log (tail) ---\n{inst.log.read_text(errors='replace')[-2000:]}",
                      file=sys.stderr)
            raise
        code = report(rig, result)
    print(f"load average at end {load()}")
    return code


if __name__ == "__main__":
    sys.exit(main())
