"""FastAGI route decision latency at a steady call rate, over real TCP.

Run: .venv/bin/python bench/bench_agi.py [--rate 50] [--seconds 30] [--contacts 100000]
     [--pg postgresql+psycopg://user@host/db]

The server is `hotline serve`'s: AgiServer + RouteScript (the ranked caller lookup,
tickets.route_facts, tickets.routing) on a database filled with `--contacts`
contacts in 5 focus-team organisations (one in 50 with an open critical ticket,
one organisation VIP). A client in a second process plays Asterisk at `--rate`
requests/s: it connects, sends the agi_* header, answers every SET VARIABLE with
`200 result=1` and waits for the close, like res_agi. The mix: known direct
numbers, organisation switchboards, unknown numbers, withheld callers. Printed:
client-side connect -> close (what the caller waits for) and the server's own
accept -> last reply, p50/p99/max, and how many answers were the fallback (late).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent_console.agi_routes import AgiService, RouteScript  # noqa: E402
from bench._db import realtime  # noqa: E402
from tickets.db import make_engine, scratch_schema, session_factory  # noqa: E402
from tickets.lookup import CustomerLookup  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import Contact, Organisation, Phone, PhoneKind, Ticket  # noqa: E402
from tickets.writer import GIL_SWITCH_INTERVAL  # noqa: E402

TEAMS = ("Kommunen", "Schulen", "Kliniken", "Werke", "International")


def direct(i: int) -> str:
    return f"+49341{30_000_000 + i:08d}"


def fill(engine: Engine, contacts: int) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Organisation), [
            {"id": n + 1, "name": f"Org {t}", "team": t, "language": "en" if t == "International" else "de",
             "vip": t == "Kliniken"} for n, t in enumerate(TEAMS)])
        conn.execute(insert(Phone), [
            {"raw": f"0351 {n}000-0", "normalized": f"+49351{n}0000", "kind": PhoneKind.MAIN,
             "organisation_id": n + 1} for n in range(len(TEAMS))])
        for start in range(0, contacts, 20_000):
            ids = range(start, min(contacts, start + 20_000))
            conn.execute(insert(Contact), [{"id": i + 1, "name": f"Contact {i}", "email": "", "language": "de",
                                            "team": "", "organisation_id": i % len(TEAMS) + 1} for i in ids])
            conn.execute(insert(Phone), [{"raw": direct(i), "normalized": direct(i), "kind": PhoneKind.DIRECT,
                                          "contact_id": i + 1} for i in ids])
        now = datetime.now(UTC)
        conn.execute(insert(Ticket), [
            {"number": f"B-{i}", "subject": "down", "priority": "critical", "status": "open", "contact_id": i + 1,
             "level": 1, "team": "", "assignee": "", "category": "", "channel": "phone", "description": "",
             "first_contact_resolution": False, "created_at": now, "updated_at": now}
            for i in range(0, contacts, 50)])
    with engine.begin() as conn:  # planner statistics, as autovacuum would have them (else PostgreSQL scans)
        conn.execute(text("ANALYZE"))


def callers(contacts: int, n: int) -> list[str]:
    rnd = random.Random(7)
    out = []
    for k in range(n):
        kind = k % 20
        out.append(direct(rnd.randrange(contacts)) if kind < 14 else
                   f"+49351{rnd.randrange(len(TEAMS))}0000" if kind < 16 else
                   f"+4940{rnd.randrange(10**7):07d}" if kind < 19 else "anonymous")
    return out


async def one(port: int, caller: str, k: int) -> tuple[float, int]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"agi_network: yes\nagi_network_script: route\nagi_uniqueid: b.{k}\n"
                  f"agi_callerid: {caller}\nagi_arg_1: b.{k}\n\n").encode())
    fallback = 0
    try:
        while line := await reader.readline():
            if b"HOTLINE_ROUTE_REASON" in line and b"fallback" in line:
                fallback = 1
            writer.write(b"200 result=1\n")
    except ConnectionResetError:  # the server's deadline cut it: Asterisk would take the plain queue
        fallback = 1
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return (time.perf_counter() - started) * 1000, fallback


def client(port: int, rate: float, numbers: list[str], out: Any) -> None:
    async def run() -> list[tuple[float, int]]:
        tasks = []
        t0 = time.perf_counter()
        for k, number in enumerate(numbers):
            delay = t0 + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(port, number, k)))
        return await asyncio.gather(*tasks)

    out.send(asyncio.run(run()))


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 1 else values[0]


def line(name: str, ms: list[float]) -> str:
    return (f"{name:<34} n={len(ms):>5}  p50 {pct(ms, 50):6.2f} ms  p99 {pct(ms, 99):6.2f} ms  "
            f"max {max(ms):7.2f} ms")


@contextlib.contextmanager
def database(pg: str | None) -> Iterator[str]:
    if pg:
        with scratch_schema(pg) as url:
            upgrade(url)
            yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/agi.db"
        upgrade(url)
        yield url


async def serve_and_measure(url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    fill(engine, args.contacts)
    lookup = CustomerLookup(session_factory(engine), "DE", make_engine(url, ping=False, generic_plans=True))
    script = RouteScript(lookup, ",".join(TEAMS), "hotline", lambda: datetime.now(UTC), lambda _now: True)
    service = AgiService(script, "127.0.0.1", 0, 0.3)
    await service.start()
    numbers = callers(args.contacts, int(args.rate * args.seconds))
    warm = callers(args.contacts, 200)
    try:
        for k, n in enumerate(warm):  # connections and prepared statements warm
            await one(service.server.port, n, -k)
        service.server.stats.latencies_ms.clear()
        script.decisions_ms.clear()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        mine, theirs = mp.Pipe()
        proc = mp.get_context("spawn").Process(target=client, args=(service.server.port, args.rate, numbers, theirs))
        proc.start()
        results = await asyncio.to_thread(mine.recv)
        await asyncio.to_thread(proc.join)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        await service.close()
        engine.dispose()
        lookup.engine.dispose()
    kind = url.split(":", 1)[0]
    client_ms = [ms for ms, _ in results]
    print(f"{kind}: {args.contacts:,} contacts, {len(results):,} AGI requests at {args.rate:g}/s over TCP, "
          f"deadline 300 ms")
    print("  " + line("caller side (connect -> close)", client_ms))
    print("  " + line("server side (accept -> last reply)", service.server.stats.latencies_ms))
    print("  " + line("route decision (lookup+facts+decide)", script.decisions_ms[-len(results):]))
    print(f"  fallbacks (late): {sum(f for _, f in results)}, unanswered: {service.server.stats.refused}")
    cpu_ms = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) * 1000
    print(f"  server CPU: {cpu_ms / len(results):.2f} ms per request ({cpu_ms / 1000 / args.seconds:.0%} of one core "
          f"at {args.rate:g}/s; independent of how busy the machine is)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--pg", help="also on this PostgreSQL (a scratch schema)")
    ap.add_argument("--realtime", action="store_true",
                    help="server and client at SCHED_FIFO priority (root; SQLite: see bench/_db.py)")
    args = ap.parse_args()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)  # as `hotline serve` runs (the lookup is on a thread)
    if args.realtime:
        realtime()
    for pg in (None, args.pg) if args.pg else (None,):
        with database(pg) as url:
            asyncio.run(serve_and_measure(url, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
