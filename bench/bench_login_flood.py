"""Login flood: failed logins from many addresses against a real `hotline serve`, while a
logged-in agent polls GET /api/me and the real user logs in now and then.

Run: .venv/bin/python bench/bench_login_flood.py [--seconds 60] [--addresses 200]
     [--concurrency 48] [--pg URL]

Set-up: a fresh SQLite database (with --pg: a scratch schema on that PostgreSQL) holding
the agents anna and bert; `hotline serve` as its own process with HOTLINE_AMI_ENABLED=false
(the login path never touches the PBX) and HOTLINE_TRUSTED_PROXIES=127.0.0.1, so each
attack request names one of --addresses addresses (10.x.y.z) in X-Forwarded-For.

Attack: --concurrency keep-alive connections send failed logins back to back (each waits
for its answer, then sends the next) for --seconds; every other attempt names the real user
anna (wrong password), the others a made-up username, so the per-username backoff, the
per-address limits and the password-check lanes all work. The client is a minimal raw
HTTP/1.1 writer (pre-encoded requests), so it costs the server more than it costs itself.

Measured at the same time:
  /api/me   bert, logged in before the flood, sends GET /api/me every 20 ms on his own
            connection: p50 / p99 / max round trip (also 5 s before the flood, for comparison);
  real user anna logs in with the right password from her own address every 5 s (again
            after Retry-After when the checks are busy, 503, at most 5 tries, as a person
            clicking again would): how many got in, how many at the first try, how long it took;
  attack    answers by status, attempts/s, password checks run (the 401s);
  server    CPU seconds and RSS of the `hotline serve` process (/proc).
Target: /api/me p99 <= 100 ms during the flood, and the real user logged in every time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402

from tickets.db import make_engine, scratch_schema, session_factory  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import Role  # noqa: E402
from tickets.users import UserService  # noqa: E402

PASSWORD = "bench-password-1"
OWN_ADDRESS = "198.51.100.7"


class Conn:
    """One keep-alive HTTP/1.1 connection: send pre-encoded bytes, read one answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):  # the server may have closed an idle or refused connection
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                assert self.reader is not None
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = await self.reader.readexactly(int(headers.get("content-length", "0")))
                if headers.get("connection", "").lower() == "close":
                    await self.close()
                return int(lines[0].split()[1]), headers, body
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def http(method: str, path: str, port: int, body: dict[str, str] | None = None, **headers: str) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Origin: http://127.0.0.1:{port}",
             f"Content-Length: {len(data)}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    if body is not None:
        lines.append("Content-Type: application/json")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def login_request(port: int, username: str, password: str, address: str) -> bytes:
    return http("POST", "/api/session", port, {"username": username, "password": password},
                X_Forwarded_For=address)


def address(n: int) -> str:
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256 or 1}"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def figures(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    return (f"n={len(samples):,}  p50 {pct(samples, 50):.1f} ms  p99 {pct(samples, 99):.1f} ms  "
            f"max {max(samples) * 1000:.1f} ms  mean {statistics.fmean(samples) * 1000:.1f} ms")


async def poll_me(port: int, cookie: str, until: float, samples: list[float], statuses: Counter[int]) -> None:
    conn, raw = Conn(port), http("GET", "/api/me", port, Cookie=f"hotline_session={cookie}")
    try:
        while time.monotonic() < until:
            t = time.perf_counter()
            status, _, _ = await conn.request(raw)
            samples.append(time.perf_counter() - t)
            statuses[status] += 1
            await asyncio.sleep(max(0.0, 0.02 - (time.perf_counter() - t)))
    finally:
        await conn.close()


async def attacker(port: int, k: int, args: argparse.Namespace, until: float, statuses: Counter[int]) -> None:
    conn, n = Conn(port), k
    try:
        while time.monotonic() < until:
            username = "anna" if n % 2 else f"user{n}"
            status, _, _ = await conn.request(login_request(port, username, "wrong-password-1",
                                                             address(n % args.addresses)))
            statuses[status] += 1
            n += args.concurrency
    finally:
        await conn.close()


async def real_user(port: int, until: float, results: list[tuple[list[int], float]]) -> None:
    """Every 5 s: log in like the page would, trying again after Retry-After on a 503
    (at most 5 tries); records the statuses and the time until logged in (or given up)."""
    conn = Conn(port)
    try:
        while time.monotonic() < until - 1:
            await asyncio.sleep(5)
            t, statuses = time.perf_counter(), []
            for _ in range(5):
                status, headers, _ = await conn.request(login_request(port, "anna", PASSWORD, OWN_ADDRESS))
                statuses.append(status)
                if status != 503:
                    break
                await asyncio.sleep(float(headers.get("retry-after", "1")))
            results.append((statuses, time.perf_counter() - t))
    finally:
        await conn.close()


def proc_figures(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS:"))
    return cpu, rss / 1024


async def bench(port: int, pid: int, args: argparse.Namespace) -> int:
    login = Conn(port)
    status, headers, body = await login.request(login_request(port, "bert", PASSWORD, "198.51.100.8"))
    await login.close()
    assert status == 200, body
    cookie = headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    quiet: list[float] = []
    await poll_me(port, cookie, time.monotonic() + 5, quiet, Counter())
    print(f"/api/me before the flood (5 s):      {figures(quiet)}")
    cpu0, rss0 = proc_figures(pid)
    until = time.monotonic() + args.seconds
    me: list[float] = []
    me_status: Counter[int] = Counter()
    attack: Counter[int] = Counter()
    logins: list[tuple[list[int], float]] = []
    started = time.monotonic()
    await asyncio.gather(poll_me(port, cookie, until, me, me_status), real_user(port, until, logins),
                         *(attacker(port, k, args, until, attack) for k in range(args.concurrency)))
    took = time.monotonic() - started
    cpu1, rss1 = proc_figures(pid)
    total = sum(attack.values())
    print(f"flood: {args.seconds:g} s, {args.concurrency} connections, {args.addresses} addresses (X-Forwarded-For)")
    print(f"attack answers: {total:,} ({total / took:,.0f}/s): "
          + ", ".join(f"{code} x {count:,}" for code, count in sorted(attack.items()))
          + f"  (401 = a password check ran: {attack[401] / took:.1f}/s)")
    print(f"/api/me during the flood (every 20 ms): {figures(me)}  statuses {dict(me_status)}")
    first = sum(1 for s, _ in logins if s[0] == 200)
    ok = sum(1 for s, _ in logins if s[-1] == 200)
    print(f"real user (right password, own address, every 5 s, again after Retry-After on 503): "
          f"{ok}/{len(logins)} logged in, {first} at the first try; time to log in "
          f"{', '.join(f'{t * 1000:.0f}' for _, t in logins)} ms; statuses {[s for s, _ in logins]}")
    print(f"hotline serve: CPU {cpu1 - cpu0:.1f} s in {took:.0f} s ({(cpu1 - cpu0) / took:.0%} of one core), "
          f"RSS {rss0:.0f} -> {rss1:.0f} MB; machine load average (1 min) at the end {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs (other work included)")
    met = me and pct(me, 99) <= 100 and logins and ok == len(logins)
    print(f"target (/api/me p99 <= 100 ms, the real user logged in every time): {'met' if met else 'NOT met'}")
    return 0 if met else 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def database(pg: str | None, folder: Path) -> Iterator[str]:
    if pg:
        with scratch_schema(pg, "hl_bench") as url:
            upgrade(url)
            yield url
    else:
        url = f"sqlite:///{folder / 'hotline.db'}"
        upgrade(url)
        yield url


@contextlib.contextmanager
def serve(url: str, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(HOTLINE_DATABASE_URL=url, HOTLINE_AMI_ENABLED="false", HOTLINE_HTTP_PORT=str(port),
               HOTLINE_SESSION_SECRET="bench-" + os.urandom(12).hex(), HOTLINE_TRUSTED_PROXIES="127.0.0.1")
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hotline_cli.main", "serve"], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hotline serve did not start; see {log}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--addresses", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=48)
    p.add_argument("--pg", default="", help="PostgreSQL URL (a scratch schema); default a temp SQLite file")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotline-flood-") as tmp, database(args.pg, Path(tmp)) as url:
        users = UserService(session_factory(make_engine(url)))
        users.add("anna", PASSWORD, Role.AGENT, "PJSIP/1001")
        users.add("bert", PASSWORD, Role.AGENT, "PJSIP/1002")
        port = free_port()
        h = PasswordHasher()  # the parameters tickets.users hashes with (argon2-cffi's defaults)
        print(f"database: {'PostgreSQL' if args.pg else 'SQLite'}; argon2id time_cost={h.time_cost}, "
              f"memory_cost={h.memory_cost // 1024} MiB, parallelism={h.parallelism}")
        with serve(url, port, Path(tmp) / "serve.log") as proc:
            return asyncio.run(bench(port, proc.pid, args))


if __name__ == "__main__":
    sys.exit(main())
