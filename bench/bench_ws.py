"""Screen-pop and broadcast latency over real WebSockets, all in one process.

Run: .venv/bin/python bench/bench_ws.py [--pops 200] [--calls 100] [--rounds 5] [--clients 1000]
     [--broadcasts 50] [--supervisors 5] [--day 0] [--no-uvloop] [--no-worker] [--profile FILE] [--python-gc]

Setup: a fresh SQLite database (tickets.migrate.upgrade in a temp dir), the real
app from agent_console.app.create_app served by uvicorn as an asyncio task on a
free port (uvloop, httptools and the websockets implementation, as `hotline serve`
gets them), its AMI bridge logged in to a fake AMI TCP server (cti.testing) in the same
loop, and `websockets` clients logged in through POST /api/session (cookie +
Origin, like a browser). Same process, so every timestamp is the same
time.perf_counter() clock.

1. Screen pop: for each call, the fake AMI sends the recorded answered call
   (tests/transcripts/answered.ami) with fresh Linkedid/Uniqueid/channels and the
   agent renamed to PJSIP/20xx: first the frames before AgentCalled
   (Newchannel, QueueCallerJoin...), then, stamped with perf_counter() just
   before the write, the AgentCalled frame. Latency = receipt of the matching
   `call.ringing` frame by that agent's WebSocket client - the stamp, i.e. AMI
   socket -> parser -> translate -> registry -> bus -> notifier (customer lookup
   in the database) -> hub -> JSON -> WebSocket -> client. Afterwards the rest of
   the transcript (answer, bridge, hangup) ends the call and the bench waits until
   the notifier and the database writer are idle.
   "1 call": one call at a time, one agent. "N concurrent": N agents, N calls join
   the queue, then all N AgentCalled frames are written in one write, stamped once
   (worst case: every phone starts ringing at once); repeated for several rounds
   (until 2026-12-03 each frame had a write and a stamp of its own, in the server's
   loop). Then again with
   the agents' consoles in a 2nd process, and beside them --supervisors N (5)
   supervisor consoles, as a help desk has them open: they get every agent.state
   and queue.updated of the burst, and a pop reaching one counts as misrouted. The
   2nd process reports its receipts 20 ms after the first of a burst, in one write
   (a line per pop had the server's loop read them while it still rang phones).
2. Broadcast: N clients of one supervisor session; hub.publish(..., ALL) from
   inside the server's loop, one message at a time (the next once all clients got
   the previous one, or after a timeout). Latency = receipt by each client -
   perf_counter() taken just before hub.publish. Measured twice: clients in the
   server's process, then (rows "2nd proc") the same clients in a child process
   (this file with --worker), which reports its receipt times over a pipe;
   perf_counter is CLOCK_MONOTONIC on Linux, the same clock in both processes. And a
   third time (rows "lean receivers") with the 2nd process's clients reading frames with
   bench/_lean_ws.py instead of the `websockets` client: 1,000 clients in one process
   on these 2 cores spend more time receiving a broadcast than the server spends sending
   it; the lean receiver's figure is closer to what 1,000 browsers, each on a machine of
   its own, see.

--day N puts N finished calls of today into the database before the server starts (a
help desk's day: 15,000 calls at 50/s for 5 minutes), so the wallboard's and the sites
board's today figures are as large as at the end of a busy day while the pops are timed.

In-process clients share the server's event loop, so their receive work (frame
decoding, inflate, JSON) competes with the server's: those figures are an upper
bound for the server alone. "lost" = expected frames that never arrived.
Prints figures only; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import math
import re
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "queue"))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
import websockets  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from agent_console.app import create_app  # noqa: E402
from agent_console.auth import COOKIE  # noqa: E402
from agent_console.hub import ALL, Audience, Message  # noqa: E402
from agent_console.scaleout.port import LocalPbx  # noqa: E402
from agent_console.services import Services  # noqa: E402
from agent_console.settings import Settings  # noqa: E402
from bench._db import seed_day  # noqa: E402
from bench._lean_ws import lean_connect  # noqa: E402
from bench._live import connect_ws, login, machine, raise_nofile, steadiness  # noqa: E402
from cti.testing import FakeAmiServer  # noqa: E402
from hotline_cli.serve import serve_defaults  # noqa: E402
from tickets.db import make_engine, session_factory  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import Role, User  # noqa: E402
from tickets.users import hash_password  # noqa: E402
from tickets.writer import GIL_SWITCH_INTERVAL  # noqa: E402

TRANSCRIPT = ROOT / "tests" / "transcripts" / "answered.ami"
AMI_SECRET = "bench-secret"
PASSWORD = "bench-password-1"
POP_TIMEOUT = 10.0
ANSWER_GAP = 0.5  # s from joining the queue to the first ring: Asterisk's Answer() (see bench_e2e)
BROADCAST_TIMEOUT = 10.0


# --- synthetic calls from the recorded transcript ------------------------------


@dataclass(frozen=True)
class CallBytes:
    linkedid: str
    endpoint: str
    before: bytes  # frames before AgentCalled
    called: bytes  # the AgentCalled frame
    after: bytes  # answer, bridge, hangup


class CallFactory:
    """The recorded answered call with fresh ids; agent PJSIP/1001 renamed."""

    def __init__(self, path: Path) -> None:
        raw = path.read_bytes().decode("ascii")
        frames = [f + "\r\n\r\n" for f in raw.split("\r\n\r\n") if f.strip()]
        idx = next(i for i, f in enumerate(frames) if f.startswith("Event: AgentCalled\r\n"))
        self.before, self.called, self.after = "".join(frames[:idx]), frames[idx], "".join(frames[idx + 1:])
        self.count = 0
        self.bridge_id = re.search(r"BridgeUniqueid: (\S+)", raw).group(1)  # type: ignore[union-attr]

    def make(self, extension: int) -> CallBytes:
        self.count += 1
        n, ext = self.count, str(extension)
        linkedid, agent_uid = f"{1_900_000_000 + n}.{2 * n}", f"{1_900_000_000 + n}.{2 * n + 1}"
        # the agent first: a fresh id may contain "1001" (call 1001's linkedid did, and lost its pop)
        subs = [("1001", ext), ("1795358313.0", linkedid), ("1795358314.1", agent_uid),
                ("trunk-00000000", f"trunk-{2 * n:08x}"), (f"{ext}-00000001", f"{ext}-{2 * n + 1:08x}"),
                (self.bridge_id.replace("1001", ext), str(uuid.uuid4()))]

        def sub(text: str) -> bytes:
            for old, new in subs:
                text = text.replace(old, new)
            return text.encode("ascii")

        return CallBytes(linkedid, f"PJSIP/{ext}", sub(self.before), sub(self.called), sub(self.after))


# --- WebSocket clients -----------------------------------------------------------


@dataclass
class Recorder:
    """What the clients saw; futures resolve when a pop arrives."""

    pops: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)  # linkedid -> hub.publish of its pop
    expected_endpoint: dict[str, str] = field(default_factory=dict)
    misrouted: int = 0
    broadcast: dict[int, list[float]] = field(default_factory=dict)
    broadcast_target: int = 0
    on_complete: Callable[[int], None] | None = None  # message k reached every client
    rings_with_history: int = 0  # call.ringing that carried open tickets and recent calls
    enriched_later: int = 0  # call.enriched that followed a ring without them


class WsClient:
    def __init__(self, conn: ClientConnection, endpoint: str | None, rec: Recorder) -> None:
        self.conn, self.endpoint, self.rec = conn, endpoint, rec
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        rec = self.rec
        with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
            async for raw in self.conn:
                now = time.perf_counter()
                msg = json.loads(raw)
                kind = msg.get("type")
                if kind == "call.ringing":
                    lid = msg["data"]["linkedid"]
                    if rec.expected_endpoint.get(lid) != self.endpoint:
                        rec.misrouted += 1
                    rec.rings_with_history += bool(msg["data"].get("enriched"))
                    fut = rec.pops.get(lid)
                    if fut is not None and not fut.done():
                        fut.set_result(now)
                elif kind == "call.enriched":
                    rec.enriched_later += 1
                elif kind == "bench.broadcast":
                    k = msg["data"]["k"]
                    got = rec.broadcast.setdefault(k, [])
                    got.append(now - msg["data"]["t0"])
                    if len(got) == rec.broadcast_target and rec.on_complete is not None:
                        rec.on_complete(k)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.conn.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def open_client(base: str, cookie: str, endpoint: str | None, rec: Recorder) -> WsClient:
    client = WsClient(await connect_ws(base, cookie), endpoint, rec)
    client.start()
    return client


async def start_worker(*args: str) -> asyncio.subprocess.Process:
    """This script again as a worker process (`args` pick its role), once it said "ready"."""
    proc = await asyncio.create_subprocess_exec(sys.executable, __file__, *args, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, limit=2**24)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 300)
    if line.strip() != b"ready":
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"worker {args[0]} did not get ready: {line!r}")
    return proc


async def gather_limited(coros: list[Awaitable[Any]], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Awaitable[Any]) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


# --- figures ---------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    samples: list[float]  # seconds
    expected: int
    note: str = ""


class FullCollections:
    """The garbage collector's full passes (generation 2) over the run: how many, how long."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []  # perf_counter start, end
        self.bursts: list[tuple[float, float]] = []  # a burst of rings: written .. last pop in
        self._t = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.spans.append((self._t, time.perf_counter()))

    def summary(self, schedule: str) -> str:
        pauses = [(end - start) * 1000 for start, end in self.spans]
        hit = sum(any(s < b_end and b_start < e for b_start, b_end in self.bursts) for s, e in self.spans)
        longest = f", longest {max(pauses):.1f} ms" if pauses else ""
        return (f"full garbage collections ({schedule}): {len(pauses)}{longest}; "
                f"{hit} of them during one of the {len(self.bursts)} bursts of rings")


full_collections = FullCollections()


def pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return math.nan
    return sorted_ms[max(0, math.ceil(p / 100 * len(sorted_ms)) - 1)]


def print_table(rows: list[Row]) -> None:
    print(f"{'scenario':<46} {'samples':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>6}  note")
    for r in rows:
        ms = sorted(s * 1000 for s in r.samples)
        print(f"{r.scenario:<46} {len(ms):>8} {pct(ms, 50):>8.2f} {pct(ms, 99):>8.2f} "
              f"{(ms[-1] if ms else math.nan):>8.2f} {r.expected - len(ms):>6}  {r.note}")


# --- scenarios ---------------------------------------------------------------------


class Bench:
    def __init__(self, services: Services, ami: FakeAmiServer, calls: CallFactory, rec: Recorder) -> None:
        self.services, self.ami, self.calls, self.rec = services, ami, calls, rec
        self.profiler: cProfile.Profile | None = None  # --profile: the rings of a burst only

    async def idle(self) -> None:
        """Until the bridge's consumer, the notifier and the database writer are done."""
        for _ in range(3):
            await asyncio.sleep(0.01)
            await self.services.notifier.drain()
            await self.services.writer.drain()

    async def settle(self) -> float:
        """After clients closed: until the server let go of them. A closed socket is only
        noticed when the server next writes to it (a message or the heartbeat ping), so a
        `bench.flush` to everyone wakes the remaining handlers. Returns the seconds waited."""
        hub, t = self.services.hub, time.perf_counter()
        for step in range(300):
            if hub.clients == 0:
                break
            if step == 10:
                hub.publish("bench.flush", {}, ALL)
            await asyncio.sleep(0.1)
        return time.perf_counter() - t

    async def pop_round(self, extensions: list[int], gap: float) -> tuple[list[float], list[float]]:
        loop = asyncio.get_running_loop()
        batch = [self.calls.make(ext) for ext in extensions]
        for c in batch:
            self.rec.pops[c.linkedid] = loop.create_future()
            self.rec.expected_endpoint[c.linkedid] = c.endpoint
            self.ami.write(c.before)
        await self.ami.drain()
        await self.idle()  # callers are in the queue; now the phones ring
        await asyncio.sleep(gap)
        profiler = self.profiler if len(batch) > 1 else None
        if profiler is not None:
            profiler.enable()
        burst = b"".join(c.called for c in batch)  # one write: every phone starts ringing at once
        at = time.perf_counter()
        sent = {c.linkedid: at for c in batch}
        self.ami.write(burst)
        await self.ami.drain()
        futs = [self.rec.pops[c.linkedid] for c in batch]
        await asyncio.wait(futs, timeout=POP_TIMEOUT)
        full_collections.bursts.append((at, time.perf_counter()))
        if profiler is not None:
            profiler.disable()
        samples = [self.rec.pops[lid].result() - t for lid, t in sent.items() if self.rec.pops[lid].done()]
        server = [self.rec.published.pop(lid) - t for lid, t in sent.items() if lid in self.rec.published]
        for c in batch:
            self.ami.write(c.after)
            self.rec.pops.pop(c.linkedid).cancel()
        await self.ami.drain()
        await self.idle()
        return samples, server

    async def pops(self, extensions: list[int], rounds: int, gap: float = 0.0) -> list[Row]:
        samples: list[float] = []
        server: list[float] = []
        for _ in range(rounds):
            got, server_part = await self.pop_round(extensions, gap)
            samples.extend(got)
            server.extend(server_part)
        n = len(extensions)
        name = "screen pop, 1 call at a time" if n == 1 else f"screen pop, {n} concurrent calls"
        if n > 1:
            name += f", ring {gap:g} s after join"
        return [Row(name, samples, n * rounds, f"{rounds} round(s)" if n > 1 else ""),
                Row("  of it: AMI frame -> hub.publish", server, n * rounds,
                    "server side: parse, translate, registry, bus, notifier")]

    async def broadcast(self, clients: int, messages: int, link: Link, where: str) -> tuple[Row, Row]:
        hub = self.services.hub
        dropped_before, direct_before, sent_before = hub.dropped_clients, hub.sent_direct, hub.sent
        cpu = 0.0  # this process's CPU time from publish until every client had the message
        for k in range(messages):
            t0, c0 = time.perf_counter(), time.process_time()
            hub.publish("bench.broadcast", {"k": k, "t0": t0}, ALL)
            await link.wait(k, BROADCAST_TIMEOUT)
            cpu += time.process_time() - c0
            await asyncio.sleep(0.05)
        got = await link.collect()
        samples = [s for k in range(messages) for s in got.get(k, [])]
        lasts = [max(got[k]) for k in range(messages) if len(got.get(k, [])) >= clients]
        dropped = hub.dropped_clients - dropped_before
        row = Row(f"broadcast to {clients} clients, each{where}", samples, clients * messages,
                  f"{messages} msgs; hub dropped {dropped} client(s); CPU {cpu / messages * 1000:.1f} ms/msg"
                  f"; written directly {hub.sent_direct - direct_before:,} of {hub.sent - sent_before:,}"
                  + (" (server alone)" if where else " (server and clients)"))
        last = Row(f"broadcast to {clients} clients, last one{where}", lasts, messages,
                   "time until every client had it")
        return row, last


class Link:
    """Clients in this process: wait for message k on the Recorder."""

    def __init__(self, rec: Recorder, clients: int) -> None:
        self.rec, self._done = rec, dict[int, asyncio.Event]()
        rec.broadcast, rec.broadcast_target, rec.on_complete = {}, clients, lambda k: self._event(k).set()

    def _event(self, k: int) -> asyncio.Event:
        return self._done.setdefault(k, asyncio.Event())

    async def wait(self, k: int, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event(k).wait(), timeout)

    async def collect(self) -> dict[int, list[float]]:
        return self.rec.broadcast


class WorkerLink(Link):
    """Clients in a second process (`--worker`): it prints one JSON line per message once
    every client has it, and the rest (partial) when its stdin closes. perf_counter is
    CLOCK_MONOTONIC on Linux, shared by both processes."""

    def __init__(self, proc: asyncio.subprocess.Process, clients: int) -> None:
        super().__init__(Recorder(), clients)
        self.proc = proc

    @classmethod
    async def spawn(cls, base: str, cookie: str, clients: int, lean: bool = False) -> WorkerLink:
        role = "--lean-worker" if lean else "--worker"
        return cls(await start_worker(role, base, cookie, "--clients", str(clients)), clients)

    def _take(self, line: bytes) -> None:
        item = json.loads(line)
        self.rec.broadcast[item["k"]] = item["lat"]
        self._event(item["k"]).set()

    async def wait(self, k: int, timeout: float) -> None:
        assert self.proc.stdout is not None
        deadline = time.perf_counter() + timeout
        with contextlib.suppress(TimeoutError):
            while not self._event(k).is_set():
                line = await asyncio.wait_for(self.proc.stdout.readline(), deadline - time.perf_counter())
                if not line:
                    return
                self._take(line)

    async def collect(self) -> dict[int, list[float]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        while line := await self.proc.stdout.readline():
            self._take(line)
        await self.proc.wait()
        return self.rec.broadcast


class PopWorker:
    """The agents' consoles in a second process (`--pop-worker`): it prints one JSON line
    per call.ringing / call.enriched frame with its perf_counter receipt time, which this
    side feeds into the Recorder as if its own clients had read them."""

    def __init__(self, proc: asyncio.subprocess.Process, rec: Recorder) -> None:
        self.proc, self.rec = proc, rec
        self.reader = asyncio.get_running_loop().create_task(self._read(), name="pop-worker-reader")

    @classmethod
    async def spawn(cls, base: str, cookies: dict[int | str, str], rec: Recorder, tmp: Path) -> PopWorker:
        keys = tmp / "agent-cookies.txt"
        keys.write_text("".join(f"{ext} {cookie}\n" for ext, cookie in cookies.items()))
        return cls(await start_worker("--pop-worker", base, str(keys)), rec)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        rec = self.rec
        while line := await self.proc.stdout.readline():
            item = json.loads(line)
            if item["type"] == "call.enriched":
                rec.enriched_later += 1
                continue
            lid = item["linkedid"]
            rec.misrouted += rec.expected_endpoint.get(lid) != item["endpoint"]
            rec.rings_with_history += bool(item["enriched"])
            fut = rec.pops.get(lid)
            if fut is not None and not fut.done():
                fut.set_result(item["t"])

    async def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        await self.proc.wait()
        await self.reader


REPORT_AFTER = 0.02  # seconds a pop worker holds its receipts (the times are taken on receipt)


async def pop_worker(base: str, cookies: list[list[str]]) -> None:
    """The client side of PopWorker: `cookies` are [extension, session cookie] pairs."""
    raise_nofile(len(cookies) + 256)
    host = base.split("://", 1)[1]

    async def one(ext: str, cookie: str) -> None:
        conn = await connect(f"ws://{host}/ws", open_timeout=60, max_size=2**22,
                             additional_headers={"Cookie": f"{COOKIE}={cookie}", "Origin": base})
        await conn.recv()  # the snapshot
        ready.release()
        with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
            async for raw in conn:
                now = time.perf_counter()
                msg = json.loads(raw)
                if msg["type"] in ("call.ringing", "call.enriched"):
                    data = msg["data"]
                    held.append(json.dumps({"type": msg["type"], "linkedid": data["linkedid"], "t": now,
                                            "endpoint": f"PJSIP/{ext}", "enriched": data.get("enriched")}) + "\n")
                    if len(held) == 1:
                        asyncio.get_running_loop().call_later(REPORT_AFTER, report)
        await conn.close()

    def report() -> None:
        """The receipts so far, in one write: a line per pop would have the server's own
        loop read and parse one while it still rings the burst's other phones."""
        sys.stdout.write("".join(held))
        sys.stdout.flush()
        held.clear()

    held: list[str] = []
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.get_running_loop().create_task(one(ext, c), name=f"agent-{ext}") for ext, c in cookies]
    for _ in tasks:
        await ready.acquire()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)  # until the parent closes stdin
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def worker(base: str, cookie: str, clients: int) -> None:
    """The client side of the broadcast in its own process; see WorkerLink."""
    raise_nofile(clients + 256)
    rec, reported = Recorder(broadcast_target=clients), set[int]()

    def report(k: int) -> None:
        reported.add(k)
        sys.stdout.write(json.dumps({"k": k, "lat": rec.broadcast[k]}) + "\n")
        sys.stdout.flush()

    rec.on_complete = report
    conns = await gather_limited([open_client(base, cookie, None, rec) for _ in range(clients)], 50)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)  # until the parent closes stdin
    for k in sorted(set(rec.broadcast) - reported):
        report(k)
    await asyncio.gather(*(c.close() for c in conns))


async def lean_worker(base: str, cookie: str, clients: int) -> None:
    """As `worker`, with lean receivers (bench/_lean_ws.py): the receipt time is taken when
    the frame's bytes reach the client process, without the `websockets` client's per-frame
    work, which with 1,000 clients in one process on 2 cores is most of the figure."""
    raise_nofile(clients + 256)
    got: dict[int, list[float]] = {}
    reported: set[int] = set()
    snapshots = asyncio.Semaphore(0)

    def report(k: int) -> None:
        reported.add(k)
        sys.stdout.write(json.dumps({"k": k, "lat": got[k]}) + "\n")
        sys.stdout.flush()

    def on_text(now: float, text: bytes) -> None:
        if b'"bench.broadcast"' not in text:
            if b'"snapshot"' in text:
                snapshots.release()
            return
        data = json.loads(text)["data"]
        lat = got.setdefault(data["k"], [])
        lat.append(now - data["t0"])
        if len(lat) == clients:
            report(data["k"])

    conns = await gather_limited([lean_connect(base, f"{COOKIE}={cookie}", on_text) for _ in range(clients)], 50)
    for _ in conns:
        await snapshots.acquire()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)  # until the parent closes stdin
    for k in sorted(set(got) - reported):
        report(k)
    for c in conns:
        c.close()


# --- setup ---------------------------------------------------------------------------


def create_users(url: str, agents: list[int]) -> None:
    """One argon2 hash for everyone (each hash has its own salt anyway): fast setup."""
    pw = hash_password(PASSWORD)
    with session_factory(make_engine(url)).begin() as s:
        s.add(User(username="bench-sup", password_hash=pw, role=Role.SUPERVISOR, endpoint=None))
        for ext in agents:
            s.add(User(username=f"agent{ext}", password_hash=pw, role=Role.AGENT, endpoint=f"PJSIP/{ext}"))


async def with_server(settings: Settings, sock: socket.socket,
                      body: Callable[[Services, str], Awaitable[None]]) -> None:
    app = create_app(settings)
    services: Services = app.state.services
    gc.freeze()  # as `hotline serve`, which also turns permessage-deflate off:
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws_per_message_deflate=False))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name="uvicorn")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped during startup")
            await asyncio.sleep(0.01)
        host, port = sock.getsockname()[:2]
        await body(services, f"http://{host}:{port}")
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)


async def run(args: argparse.Namespace) -> None:
    gc.callbacks.append(full_collections)
    print(machine())
    print(steadiness())
    print(raise_nofile(2 * args.clients + 2 * args.calls + 256) + f"; websockets {version('websockets')}, "
          f"uvicorn {uvicorn.__version__}, loop {type(asyncio.get_running_loop()).__module__}")
    agents = [2001 + i for i in range(max(args.calls, 1))]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="hotline-bench-ws-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        create_users(url, agents)
        if args.day:
            seed_day(url, args.day, Settings.model_fields["queue_name"].default,
                     Settings.model_fields["timezone"].default)
            print(f"{args.day:,} finished calls of today in the database")
        ami = await FakeAmiServer(AMI_SECRET).start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        settings = Settings(database_url=url, session_secret=SecretStr("x" * 32), ami_enabled=True,
                            ami_host="127.0.0.1", ami_port=ami.port, ami_secret=SecretStr(AMI_SECRET),
                            http_port=sock.getsockname()[1],
                            # all broadcast clients (and the pops' supervisors) share one session
                            ws_per_session=max(args.clients, args.supervisors) + 10)
        if not args.python_gc:  # as `hotline serve`: full collections at a quiet moment
            settings = serve_defaults(settings)
        rec = Recorder()

        async def body(services: Services, base: str) -> None:
            await asyncio.wait_for(ami.connected.wait(), 10)
            assert isinstance(services.pbx, LocalPbx)
            while services.pbx.bridge.resyncs == 0:  # noqa: ASYNC110 (no event to wait on)
                await asyncio.sleep(0.01)
            bench = Bench(services, ami, CallFactory(TRANSCRIPT), rec)
            if args.profile:
                bench.profiler = cProfile.Profile()
            publish = services.hub.publish

            def traced(type_: str, data: dict[str, Any], audience: Audience = ALL, *rest: Any) -> Message:
                msg = publish(type_, data, audience, *rest)  # rest: the per-viewer transform of a pop
                if type_ == "call.ringing":
                    rec.published.setdefault(data["linkedid"], msg.created)
                return msg

            services.hub.publish = traced  # type: ignore[method-assign,assignment]
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                t = time.perf_counter()
                # 2 at a time: hotline serve checks 2 passwords at once (HOTLINE_LOGIN_WORKERS), more get 503
                cookies = await gather_limited([login(http, base, f"agent{e}") for e in agents], 2)
                clients = await gather_limited(
                    [open_client(base, c, f"PJSIP/{e}", rec) for c, e in zip(cookies, agents, strict=True)], 50)
                print(f"{len(clients)} agents logged in and connected in {time.perf_counter() - t:.1f} s")
                try:
                    await bench.pops(agents[:1], 20)  # warm-up, not reported
                    rows.extend(await bench.pops(agents[:1], args.pops))
                    if args.calls > 1:  # at once (lookups still running), then as Asterisk's Answer() spaces it
                        rows.extend(await bench.pops(agents, args.rounds))
                        rows.extend(await bench.pops(agents, args.rounds, ANSWER_GAP))
                finally:
                    await asyncio.gather(*(c.close() for c in clients))
                    print(f"server let go of the closed agent sockets after {await bench.settle():.1f} s")
                    if bench.profiler is not None:
                        bench.profiler.dump_stats(args.profile)
                        print(f"profile of the bursts' rings (this process's thread, cProfile) in {args.profile}")
                if args.calls > 1 and not args.no_worker:  # the same agents' consoles in a 2nd process
                    consoles: dict[int | str, str] = dict(zip(agents, cookies, strict=True))
                    if args.supervisors:  # they get every agent.state and queue.updated, never a pop
                        sup = await login(http, base, "bench-sup")
                        consoles.update({f"sup{k}": sup for k in range(args.supervisors)})
                    pops = await PopWorker.spawn(base, consoles, rec, Path(tmp))
                    where = f" (2nd proc, {args.supervisors} supervisors)" if args.supervisors else " (2nd proc)"
                    try:
                        for gap in (0.0, ANSWER_GAP):
                            for row in await bench.pops(agents, args.rounds, gap):
                                rows.append(replace(row, scenario=row.scenario + where))
                    finally:
                        await pops.close()
                        await bench.settle()
                if args.clients > 0:
                    t = time.perf_counter()
                    sup = await login(http, base, "bench-sup")
                    clients = await gather_limited([open_client(base, sup, None, rec)
                                                    for _ in range(args.clients)], 50)
                    print(f"{len(clients)} supervisor clients connected in {time.perf_counter() - t:.1f} s")
                    try:
                        await asyncio.sleep(0.5)
                        rows.extend(await bench.broadcast(len(clients), args.broadcasts, Link(rec, len(clients)), ""))
                    finally:
                        await asyncio.gather(*(c.close() for c in clients))
                        await bench.settle()
                    for lean in () if args.no_worker else (False, True):
                        t = time.perf_counter()
                        link = await WorkerLink.spawn(base, sup, args.clients, lean)
                        where = " (2nd proc, lean receivers)" if lean else " (2nd proc)"
                        print(f"{args.clients} supervisor clients in a 2nd process{' (lean)' if lean else ''} "
                              f"connected in {time.perf_counter() - t:.1f} s")
                        try:
                            await asyncio.sleep(0.5)
                            rows.extend(await bench.broadcast(args.clients, args.broadcasts, link, where))
                        finally:
                            if link.proc.returncode is None:
                                link.proc.kill()
                                await link.proc.wait()
                            await bench.settle()
            if rec.misrouted:
                print(f"WARNING: {rec.misrouted} call.ringing frame(s) reached a client of another endpoint")
            print(f"pops: {rec.rings_with_history} ring(s) carried open tickets and recent calls; "
                  f"{rec.enriched_later} call.enriched followed a ring without them; misrouted {rec.misrouted}")

        try:
            await with_server(settings, sock, body)
        finally:
            sock.close()
            await ami.stop()
    print(steadiness())
    schedule = "Python's own schedule" if args.python_gc else "at a quiet moment, as hotline serve"
    print(full_collections.summary(schedule))
    print()
    print_table(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--pops", type=int, default=200, help="sequential single-call pops")
    p.add_argument("--calls", type=int, default=100, help="concurrent calls (= agents)")
    p.add_argument("--rounds", type=int, default=5, help="rounds of concurrent calls")
    p.add_argument("--clients", type=int, default=1000, help="WebSocket clients for the broadcast")
    p.add_argument("--broadcasts", type=int, default=50, help="messages broadcast")
    p.add_argument("--supervisors", type=int, default=5,
                   help="supervisor consoles beside the agents' in the 2nd process while the phones ring")
    p.add_argument("--day", type=int, default=0, help="finished calls of today in the database at start")
    p.add_argument("--no-uvloop", action="store_true", help="plain asyncio loop instead of uvloop")
    p.add_argument("--no-worker", action="store_true", help="skip the broadcast with clients in a 2nd process")
    p.add_argument("--python-gc", action="store_true",
                   help="Python's own schedule of full garbage collections (hotline serve: at a quiet moment)")
    p.add_argument("--profile", metavar="FILE", help="cProfile the concurrent rings (in-process clients) into FILE")
    p.add_argument("--worker", nargs=2, metavar=("BASE", "COOKIE"), help=argparse.SUPPRESS)
    p.add_argument("--lean-worker", nargs=2, metavar=("BASE", "COOKIE"), help=argparse.SUPPRESS)
    p.add_argument("--pop-worker", nargs=2, metavar=("BASE", "COOKIES"), help=argparse.SUPPRESS)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)  # as `hotline serve` sets it
    if not (args.worker or args.pop_worker or args.lean_worker):  # a worker's stdout is its report to the parent
        print(f"GIL switch interval {sys.getswitchinterval() * 1000:.1f} ms (as hotline serve)")
    coro = (worker(args.worker[0], args.worker[1], args.clients) if args.worker else
            lean_worker(args.lean_worker[0], args.lean_worker[1], args.clients) if args.lean_worker else
            pop_worker(args.pop_worker[0], [ln.split() for ln in Path(args.pop_worker[1]).read_text().splitlines()])
            if args.pop_worker else run(args))
    if args.no_uvloop:
        asyncio.run(coro)
    else:
        try:
            import uvloop
        except ImportError:
            asyncio.run(coro)
        else:
            uvloop.run(coro)
    return 0


if __name__ == "__main__":
    sys.exit(main())
