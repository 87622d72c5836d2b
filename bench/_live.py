"""Shared set-up for the live benchmarks (bench_e2e.py, soak.py): a real call centre on loopback.

Not a benchmark itself. `LiveRig` starts, in this order, and stops in reverse (also on
errors, Ctrl-C and SIGTERM):
  * a private Asterisk 22 (tests.pbx_fixture.start_pbx: free AMI/SIP ports, random
    secrets) with agents 1001..1010 logged into queue `hotline`, wrapup 0 and the given
    queue max wait, its RTP range widened to 21000-25999 (100 waiting callers need 100
    RTP ports plus RTCP);
  * `TimedTap`: the raw AMI listener of tests.pbx_fixture (AmiTap) that also stamps every
    event with time.perf_counter() when its bytes came off the socket (key "_t"), and keeps
    only the call events the benches read;
  * a fresh SQLite database (tickets.migrate.upgrade) with users agent1001..agent1010
    (endpoint PJSIP/1001..1010) and one supervisor, added through UserService.add;
  * `hotline serve` as its own process (tests.serve_process.serve), log in the temp folder;
  * ten pyVoIP agent phones (`hotline phone --agent N --answer-after A --hangup-after H`),
    each a process; their "answered" / "hung up" lines are counted;
  * WebSocket clients (`WsClient`) logged in like a browser (POST /api/session, then
    GET /ws with the session cookie and a same-origin Origin header) that read all the
    time and stamp every `call.ringing` frame with time.perf_counter() on receipt.
Callers are SIPp processes (hotline_cli.phones.place_calls) into 5555.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import websockets  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from agent_console.auth import COOKIE  # noqa: E402
from hotline_cli import phones as sip_phones  # noqa: E402
from hotline_cli.asterisk import AGENTS, PrivateAsterisk  # noqa: E402
from tests.pbx_fixture import AmiTap, Pbx, free_tcp_port, start_pbx  # noqa: E402
from tests.serve_process import children, serve  # noqa: E402
from tickets.db import make_engine, session_factory  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import CallRecord, Role, Ticket  # noqa: E402
from tickets.users import UserService  # noqa: E402

PASSWORD = "bench-password-1"
SUPERVISOR = "bench-sup"
RTP_RANGE = (21000, 25999)


# --- AMI tap with receive times -------------------------------------------------------


class TimedTap(AmiTap):
    """AmiTap whose events carry "_t": time.perf_counter() when their bytes arrived.

    Keeps only KEEP events and no raw bytes, so a long soak does not grow without bound."""

    KEEP = frozenset({"FullyBooted", "Newchannel", "QueueCallerJoin", "AgentCalled", "AgentConnect",
                      "AgentComplete", "AgentRingNoAnswer", "QueueCallerAbandon", "QueueCallerLeave",
                      "Hangup", "UserEvent"})

    def _store(self, chunk: bytes, parsed: list[dict[str, str]], received: float) -> None:
        now = repr(received)
        keep = [e for e in parsed if e.get("Event") in self.KEEP]
        for e in keep:
            e["_t"] = now
        with self._cond:
            self.events.extend(keep)
            self._cond.notify_all()

    def since(self, mark: int) -> list[dict[str, str]]:
        with self._cond:
            return list(self.events[mark:])


def caller_channel(e: dict[str, str]) -> bool:
    """The SIPp caller's channel: the call's first channel (Uniqueid == Linkedid)."""
    return e.get("Uniqueid") == e.get("Linkedid") and e.get("Channel", "").startswith("PJSIP/trunk-")


# --- process figures ----------------------------------------------------------------------


class ProcStats:
    """CPU seconds (utime + stime) and RSS of one process, from /proc/<pid>/stat and status."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        text = Path(f"/proc/{self.pid}/stat").read_text()
        fields = text.rsplit(")", 1)[1].split()  # after "(comm)"; field 14 is fields[11]
        return (int(fields[11]) + int(fields[12])) / self.TICK

    def status_kb(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def rss_mb(self) -> float:
        return self.status_kb("VmRSS") / 1024

    def hwm_mb(self) -> float:
        return self.status_kb("VmHWM") / 1024

    def children_cpu_seconds(self) -> float:
        """CPU seconds of the processes it started and they started (hotline serve's writer
        and escalation processes), those running now."""
        total, todo = 0.0, children(self.pid)
        while todo:
            pid = todo.pop()
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += ProcStats(pid).cpu_seconds()
                todo += children(pid)
        return total


# --- WebSocket clients -------------------------------------------------------------------


@dataclass
class Pop:
    linkedid: str
    endpoint: str
    t: float  # perf_counter at receipt
    site: str = ""  # the frame's "site"


@dataclass
class Feed:
    """What every client saw, shared."""

    pops: list[Pop] = field(default_factory=list)
    messages: int = 0
    closed_early: list[str] = field(default_factory=list)  # "who: close code/reason"


class WsClient:
    def __init__(self, conn: ClientConnection, who: str, endpoint: str | None, feed: Feed) -> None:
        self.conn, self.who, self.endpoint, self.feed = conn, who, endpoint, feed
        self.messages = 0
        self.closing = False
        self.task = asyncio.get_running_loop().create_task(self._read(), name=f"ws-{who}")

    async def _read(self) -> None:
        feed = self.feed
        try:
            async for raw in self.conn:
                now = time.perf_counter()
                self.messages += 1
                feed.messages += 1
                msg = json.loads(raw)
                if msg.get("type") == "call.ringing" and self.endpoint:
                    data = msg["data"]
                    feed.pops.append(Pop(data["linkedid"], self.endpoint, now, data.get("site", "")))
        except (websockets.ConnectionClosed, asyncio.CancelledError):
            pass
        if not self.closing:
            feed.closed_early.append(f"{self.who}: {self.conn.close_code} {self.conn.close_reason or ''}".strip())

    @property
    def alive(self) -> bool:
        return not self.task.done()

    async def close(self) -> None:
        self.closing = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.close(), 5)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def login(http: httpx.AsyncClient, base: str, username: str) -> str:
    r = await http.post("/api/session", json={"username": username, "password": PASSWORD},
                        headers={"Origin": base})
    r.raise_for_status()
    cookie = r.cookies.get(COOKIE)
    if not cookie:
        raise RuntimeError(f"no session cookie for {username}")
    return cookie


async def connect_ws(base: str, cookie: str) -> ClientConnection:
    """A WebSocket on `base`'s /ws with the session `cookie`, its first message (the snapshot) read."""
    host = base.split("://", 1)[1]
    conn = await connect(f"ws://{host}/ws", additional_headers={"Cookie": f"{COOKIE}={cookie}", "Origin": base},
                         open_timeout=60, max_size=2**22)
    first = json.loads(await conn.recv())
    if first.get("type") != "snapshot":
        raise RuntimeError(f"expected a snapshot first, got {first.get('type')!r}")
    return conn


async def open_client(base: str, cookie: str, who: str, endpoint: str | None, feed: Feed) -> WsClient:
    return WsClient(await connect_ws(base, cookie), who, endpoint, feed)


async def open_clients(base: str, supervisors: int, feed: Feed) -> list[WsClient]:
    """One client per agent (agent1001..1010) plus `supervisors` clients of one supervisor session."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        cookies = {ext: await login(http, base, f"agent{ext}") for ext in AGENTS}
        sup = await login(http, base, SUPERVISOR)
    clients = [await open_client(base, c, f"agent{ext}", f"PJSIP/{ext}", feed) for ext, c in cookies.items()]
    sem = asyncio.Semaphore(20)

    async def one(k: int) -> WsClient:
        async with sem:
            return await open_client(base, sup, f"{SUPERVISOR}#{k}", None, feed)

    clients += await asyncio.gather(*(one(k) for k in range(supervisors)))
    return clients


# --- phones -----------------------------------------------------------------------------


class AgentPhone:
    """`hotline phone` as a process; a thread reads its stdout and counts answers."""

    def __init__(self, agent: str, sip_port: int, password: str, answer_after: float, hangup_after: float) -> None:
        self.agent = agent
        self.answered = self.hung_up = 0
        self.registered = threading.Event()
        self.failed = ""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotline_cli.main", "phone", "--agent", agent, "--sip-port", str(sip_port),
             "--answer-after", str(answer_after), "--hangup-after", str(hangup_after)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        assert self.proc.stdin is not None
        self.proc.stdin.write(password + "\n")
        self.proc.stdin.close()
        self._thread = threading.Thread(target=self._read, name=f"phone-{agent}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.endswith(": registered\n"):
                self.registered.set()
            elif line.endswith(": answered\n"):
                self.answered += 1
            elif line.endswith(": hung up\n"):
                self.hung_up += 1
            elif not self.registered.is_set():
                self.failed += line
        if not self.registered.is_set():
            self.failed = self.failed or "exited"
            self.registered.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_members_free(asterisk: PrivateAsterisk, count: int, timeout: float) -> None:
    """Until `queue show hotline` lists `count` members as Not in use (reachable and free)."""
    deadline = time.monotonic() + timeout
    while (out := asterisk.cli("queue show hotline")).count("(Not in use)") < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"queue members not all free:\n{out[-3000:]}")
        time.sleep(0.3)


# --- callers ----------------------------------------------------------------------------


@dataclass
class SippRun:
    proc: subprocess.Popen[str]
    stat: Path | None
    output: str = ""

    @classmethod
    def of(cls, proc: subprocess.Popen[str]) -> SippRun:
        """A SIPp process started by hotline_cli.phones.place_calls; its -trace_stat file is
        named on its command line (as SIPp sees it, in the root) and written once it runs."""
        args = [str(a) for a in proc.args] if isinstance(proc.args, list) else []
        outer, inner = sip_phones._sipp_prefix()[1:]
        stat = Path(args[args.index("-stf") + 1]) if "-stf" in args else None
        return cls(proc, outer / stat.relative_to(inner) if stat else None)

    def remove(self) -> None:
        """The stat file and the caller scenario beside it (place_calls' caller-<tag>.xml)."""
        if self.stat is not None:
            for f in (self.stat, self.stat.with_name(self.stat.name.replace("stat-", "caller-", 1)
                                                     .replace(".csv", ".xml"))):
                with contextlib.suppress(OSError):
                    f.unlink()

    def counts(self) -> dict[str, int]:
        """The last row of SIPp's -trace_stat file: OutgoingCall(C), SuccessfulCall(C), FailedCall(C)."""
        if self.stat is None:
            return {}
        try:
            lines = self.stat.read_text().splitlines()
            row = dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))
            return {k: int(row[k]) for k in ("OutgoingCall(C)", "SuccessfulCall(C)", "FailedCall(C)") if k in row}
        except (OSError, IndexError, ValueError):
            return {}


def start_callers(number: str, name: str, sip_port: int, count: int, rate: float, patience: float) -> SippRun:
    """SIPp: `count` calls into 5555 at `sip_port`, `rate`/s, from `number`; each caller hangs
    up `patience` s after 5555 answered (queue wait + talk) unless Asterisk or the agent hung up first."""
    proc = sip_phones.place_calls(number, name=name, sip_port=sip_port, count=count, rate=rate, duration=patience,
                                  background=True)
    assert isinstance(proc, subprocess.Popen)
    return SippRun.of(proc)


def stop_sipp(runs: Sequence[SippRun | None]) -> None:
    """Kill the SIPp processes still running (an interrupted run) and reap them."""
    for run in runs:
        if run is not None and run.proc.poll() is None:
            run.proc.kill()
            with contextlib.suppress(Exception):
                run.proc.communicate(timeout=5)


# --- the rig -------------------------------------------------------------------------------


class Rig:
    """A temporary directory and an exit stack: `with Rig(...) as rig:` runs `_start()` and
    undoes everything it set up on exit, also when `_start()` itself fails half-way."""

    def __init__(self, name: str) -> None:
        self.stack = contextlib.ExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"hotline-{name}-"))
        self.log = self.tmp / "serve.log"
        self.url = f"sqlite:///{self.tmp}/hotline.db"
        self.port = free_tcp_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        try:
            self.stack.callback(shutil.rmtree, self.tmp, True)
            self._start()
        except BaseException:
            self.stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    def _start(self) -> None:
        raise NotImplementedError


class LiveRig(Rig):
    """Everything of the module docstring; `with LiveRig(...) as rig:` stops it all on exit."""

    def __init__(self, name: str, *, max_wait: int, answer_after: float, hangup_after: float) -> None:
        self.name, self.max_wait = name, max_wait
        self.answer_after, self.hangup_after = answer_after, hangup_after
        super().__init__(name)
        self.sipp: list[SippRun] = []
        self.phones: list[AgentPhone] = []

    def _start(self) -> None:
        t = time.monotonic()
        self.asterisk: PrivateAsterisk = start_pbx(
            f"{self.name}-{os.getpid()}", members=AGENTS, queue_max_wait=self.max_wait, wrapup_time=0,
            rtp_start=RTP_RANGE[0], rtp_end=RTP_RANGE[1])
        self.stack.callback(shutil.rmtree, self.asterisk.outer, True)
        self.stack.callback(self.asterisk.stop)
        self.tap = TimedTap(self.asterisk.config.ami_port, self.asterisk.config.ami_secret)
        self.stack.callback(self.tap.close)
        self.tap.wait_for(lambda e: e.get("Event") == "FullyBooted", timeout=10)
        upgrade(self.url)
        users = UserService(session_factory(make_engine(self.url)))
        for ext in AGENTS:
            users.add(f"agent{ext}", PASSWORD, Role.AGENT, endpoint=f"PJSIP/{ext}")
        users.add(SUPERVISOR, PASSWORD, Role.SUPERVISOR)
        self.db = session_factory(make_engine(self.url))
        pbx = Pbx(self.asterisk, self.tap)
        self.serve_proc = self.stack.enter_context(
            serve(pbx, self.url, self.port, secrets.token_urlsafe(24), self.log,
                  HOTLINE_WS_PER_SESSION="10000"))  # the supervisor clients share one session
        self.serve_stats = ProcStats(self.serve_proc.pid)
        ast_pid = self.asterisk.pid()
        self.asterisk_stats = ProcStats(ast_pid) if ast_pid else None
        self.stack.callback(self._stop_sipp)
        self.stack.callback(self._stop_phones)
        passwords = self.asterisk.config.agent_passwords  # each endpoint its own
        self.phones = [AgentPhone(a, self.asterisk.config.sip_port, passwords[a], self.answer_after, self.hangup_after)
                       for a in AGENTS]
        for p in self.phones:
            if not p.registered.wait(30) or p.failed:
                raise RuntimeError(f"phone {p.agent} did not register: {p.failed.strip()!r}")
        self.wait_members_free(30)
        print(f"rig up in {time.monotonic() - t:.1f} s: Asterisk pid {ast_pid} (AMI {self.asterisk.config.ami_port}, "
              f"SIP {self.asterisk.config.sip_port}), hotline serve pid {self.serve_proc.pid} on {self.base}, "
              f"10 phones registered; work folder {self.tmp}", flush=True)

    def wait_members_free(self, timeout: float) -> None:
        """Until `queue show hotline` lists all ten members as Not in use (phones registered)."""
        wait_members_free(self.asterisk, len(AGENTS), timeout)

    def call(self, number: str, count: int, rate: float, patience: float) -> SippRun:
        """SIPp: `count` calls into 5555 at `rate`/s; each caller hangs up `patience` s after
        5555 answered (queue wait + talk) unless Asterisk or the agent hung up first."""
        run = start_callers(number, "Bench Caller", self.asterisk.config.sip_port, count, rate, patience)
        self.sipp.append(run)
        return run

    async def finish(self, run: SippRun) -> dict[str, int]:
        out, _ = await asyncio.to_thread(run.proc.communicate)
        run.output = out or ""
        counts = run.counts()
        run.remove()
        return counts

    def _stop_sipp(self) -> None:
        stop_sipp(self.sipp)

    def _stop_phones(self) -> None:
        for p in self.phones:
            if p.proc.poll() is None:
                p.proc.terminate()
        for p in self.phones:
            p.stop()

    # --- database ---------------------------------------------------------------------------

    def outcomes(self, linkedids: set[str]) -> dict[str, int]:
        """Call records of these calls by outcome ("pending" = record without outcome yet)."""
        out: dict[str, int] = {}
        with self.db() as s:
            rows = s.execute(select(CallRecord.linkedid, CallRecord.outcome)
                             .where(CallRecord.linkedid.in_(linkedids))).all() if linkedids else []
        for _lid, outcome in rows:
            key = outcome or "pending"
            out[key] = out.get(key, 0) + 1
        out["no record"] = len(linkedids) - len(rows)
        return out

    def tickets(self, linkedids: set[str] | None = None) -> int:
        with self.db() as s:
            q = select(func.count()).select_from(Ticket)
            if linkedids is not None:
                if not linkedids:
                    return 0
                q = q.where(Ticket.linkedid.in_(linkedids))
            return int(s.scalar(q) or 0)

    def serve_log_drops(self) -> int:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace").count("too slow")
        return 0


# --- misc ----------------------------------------------------------------------------------


def run_rig(log: Path | Sequence[Path], main: Coroutine[Any, Any, Any]) -> int:
    """Run a live bench's `main` on a fresh loop: 130 on Ctrl-C or SIGTERM (see
    sigterm_as_interrupt); on an error, the tail of each hotline serve's log first."""
    try:
        result = asyncio.run(main)
    except KeyboardInterrupt:
        print("interrupted; stopping everything", file=sys.stderr)
        return 130
    except Exception:
        for path in [log] if isinstance(log, Path) else log:
            tail = path.read_text(errors="replace")[-3000:] if path.exists() else ""
            print(f"--- {path.name} (tail) ---\n{tail}", file=sys.stderr)
        raise
    return result if isinstance(result, int) else 0


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile; nan when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s), max(1, math.ceil(p / 100 * len(s)))) - 1]


@dataclass(kw_only=True)
class Tally:
    """What a load bench counts per step or minute: calls that joined the queue, tickets
    written, pops the agents' sockets got, our part (AgentCalled -> pop frame) in ms, and
    the CPU share and memory of `hotline serve` and the CPU share of Asterisk."""

    joined: int = 0
    tickets: int = 0
    pops: int = 0
    ours_ms: list[float] = field(default_factory=list)
    serve_cpu: float = 0.0
    writer_cpu: float = 0.0  # serve's child processes (its writer, its escalation scan)
    serve_rss: float = 0.0
    ast_cpu: float = 0.0


def rig_arguments(p: argparse.ArgumentParser) -> None:
    """The options every LiveRig bench takes: the queue, the callers and the agents' phones."""
    p.add_argument("--max-wait", type=int, default=60, help="queue max wait (Asterisk times the caller out)")
    p.add_argument("--patience", type=float, default=90, help="caller hangs up this long after 5555 answered")
    p.add_argument("--answer-after", type=float, default=0.5, help="phones ring this long (+ pyVoIP's ~1 s)")
    p.add_argument("--hangup-after", type=float, default=2.0, help="agents hang up this long after answering")


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"nproc {os.cpu_count()}, CPU {model}, Python {platform.python_version()}, {platform.system()}"


def _fixed_work() -> int:
    total = 0
    for i in range(40_000):
        total += i * i
    return total


def steadiness(times: int = 60) -> str:
    """How steady this machine's CPU is now: the same piece of pure-Python work timed
    `times` times, best and median and worst, and the load average. On a shared virtual
    machine the median was 1.45x the best and the worst 2.75x (2026-12-04): a latency
    figure of this machine moves by that much with nothing in the code changed, so the
    benches print it beside their figures."""
    took = []
    for _ in range(times):
        start = time.perf_counter()
        _fixed_work()
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    best, median, worst = took[0], took[len(took) // 2], took[-1]
    load = os.getloadavg()[0]
    return (f"steadiness: a fixed piece of Python work took {best:.2f} ms at best, median {median:.2f} "
            f"({median / best:.2f}x), worst {worst:.2f} ({worst / best:.2f}x); load average {load:.2f}")


def raise_nofile(need: int) -> str:
    """At least `need` open files (as far as the hard limit allows); says the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return f"open files limit {soft}"


def start_rig(p: argparse.ArgumentParser, nofile: int = 4096) -> argparse.Namespace:
    """A LiveRig bench's start: its options and rig_arguments parsed, enough open files,
    the machine printed."""
    rig_arguments(p)
    args = p.parse_args()
    raise_nofile(nofile)
    print(machine())
    return args


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (e.g. `kill` of a nohup run) unwinds like Ctrl-C, so everything gets stopped."""

    def handler(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    old: Callable[[int, FrameType | None], Any] | int | None = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
