"""1,000 inbound mails in a burst through the real SMTP listener: every mail a ticket?

Run: .venv/bin/python bench/bench_mail.py [--mails 1000] [--connections 10] [--pg URL]

The listener is the one `hotline serve` runs (agent_console.mail_in: aiosmtpd on
the event loop, parsing and storing on worker threads) on a fresh database
(SQLite file; PostgreSQL in a scratch schema with --pg). The mails come from a
second process (smtplib, one thread per connection), so the clients never take
the server's GIL. Every fifth mail carries a PDF attachment, every tenth is HTML
only, a hundred come from known contacts. Printed: throughput, per-mail latency
(DATA sent -> our 250), what the loop was blocked (longest callback, wall and CPU;
1 ms sleeper lateness), and the count in the database against the 250s: "lost"
is a mail answered 250 without its ticket.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import smtplib
import sys
import time
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

from _db import databases
from bench_writes import CallbackTimer, LagMonitor
from sqlalchemy import func, insert, select

from agent_console.mail_in import ListenAddress, MailHandler, MailListener, limits_of
from tickets.db import make_engine, session_factory
from tickets.intake import IntakeService
from tickets.migrate import upgrade
from tickets.models import Attachment, Channel, Contact, Priority, Ticket
from tickets.sla import SlaPolicy
from tickets.writer import GIL_SWITCH_INTERVAL

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 80  # 20 KiB


def mail(i: int) -> bytes:
    msg = EmailMessage()
    sender = f"kontakt{i % 100}@stadt.example" if i % 10 == 1 else f"person{i}@buerger.example"
    msg["From"], msg["To"], msg["Subject"] = sender, "desk@example.org", f"Anfrage {i}: Drucker"
    msg["Message-ID"] = f"<bench-{i}@buerger.example>"
    if i % 10 == 3:
        msg.set_content(f"<p>Anfrage <b>{i}</b></p><script>x()</script>", subtype="html")
    else:
        msg.set_content(f"Anfrage {i}\n" + "Der Drucker druckt nicht. " * 20)
    if i % 5 == 0:
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename=f"anhang-{i}.pdf")
    return msg.as_bytes(policy=policy.SMTP)


def _connection(port: int, numbers: list[int]) -> tuple[list[int], list[float]]:
    codes, latencies = [], []
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        smtp.ehlo()
        for i in numbers:
            data = mail(i)
            smtp.mail(f"person{i}@buerger.example")
            smtp.rcpt("desk@example.org")
            t0 = time.perf_counter()
            try:
                code, _ = smtp.data(data)
            except smtplib.SMTPDataError as exc:
                code = exc.smtp_code
            latencies.append(time.perf_counter() - t0)
            codes.append(code)
    return codes, latencies


def clients(port: int, mails: int, connections: int) -> tuple[list[int], list[float], float]:
    """In a process of its own: `connections` SMTP sessions send `mails` mails at once."""
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        parts = list(pool.map(lambda c: _connection(port, list(range(c, mails, connections))), range(connections)))
    codes = [c for part in parts for c in part[0]]
    latencies = [t for part in parts for t in part[1]]
    return codes, latencies, time.perf_counter() - start


def seed(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Contact), [{"name": f"Kontakt {i}", "email": f"kontakt{i}@stadt.example",
                                        "language": "de", "team": ""} for i in range(100)])
    engine.dispose()


async def measure(url: str, mails: int, connections: int) -> tuple[list[int], list[float], float, LagMonitor,
                                                                      CallbackTimer]:
    engine = make_engine(url)
    intake = IntakeService(session_factory(engine), SlaPolicy({Priority.NORMAL: 24}))
    handler = MailHandler(intake, limits_of(10 * 2**20, "", "hotline.invalid"), lambda: datetime.now(UTC))
    listener = MailListener(ListenAddress.parse("127.0.0.1:0"), handler, 25 * 2**20, "bench")
    await listener.start()
    spawn = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    monitor = LagMonitor()
    lag: asyncio.Task[None] | None = None
    try:
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
            await loop.run_in_executor(pool, int)  # the client process started before measuring
            lag = asyncio.create_task(monitor.run())
            with CallbackTimer() as timer:
                codes, latencies, elapsed = await loop.run_in_executor(pool, clients, listener.port, mails,
                                                                       connections)
    finally:
        if lag is not None:
            lag.cancel()
        await listener.close()
        engine.dispose()
    return codes, latencies, elapsed, monitor, timer


def stored(url: str) -> tuple[int, int, int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        tickets = conn.scalar(select(func.count()).select_from(Ticket).where(Ticket.channel == Channel.EMAIL)) or 0
        linked = conn.scalar(select(func.count()).select_from(Ticket).where(Ticket.contact_id.is_not(None))) or 0
        attachments = conn.scalar(select(func.count()).select_from(Attachment)) or 0
        distinct = conn.scalar(select(func.count(func.distinct(Ticket.subject)))) or 0
    engine.dispose()
    return tickets, linked, attachments, distinct


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(label: str, url: str, mails: int, connections: int) -> None:
    upgrade(url)
    seed(url)
    codes, latencies, elapsed, monitor, timer = asyncio.run(measure(url, mails, connections))
    tickets, linked, attachments, distinct = stored(url)
    ok = codes.count(250)
    print(f"{label:10s} {mails:,} mails over {connections} connections in {elapsed:.1f} s: "
          f"{mails / elapsed:,.0f} mails/s; 250: {ok:,}, other: {len(codes) - ok:,}")
    print(f"{'':10s} per mail (DATA -> 250): p50 {pct(latencies, 0.5):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms, "
          f"max {pct(latencies, 1.0):.1f} ms")
    print(f"{'':10s} in DB: {tickets:,} email tickets ({distinct:,} distinct), {linked:,} linked to a contact, "
          f"{attachments:,} attachments; lost (250 without a ticket): {ok - tickets:,}")
    print(f"{'':10s} loop blocked: longest callback {timer.worst(timer.wall):.2f} ms wall "
          f"({timer.worst(timer.cpu):.2f} ms CPU), {sum(1 for w in timer.wall if w > 0.005):,} of "
          f"{len(timer.wall):,} callbacks over 5 ms; 1 ms sleeper lateness p99 {monitor.ms(0.99):.2f} ms, "
          f"max {monitor.ms(1.0):.2f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mails", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--pg", default="", help="also on PostgreSQL (a scratch schema of this database)")
    args = ap.parse_args()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)  # as `hotline serve` runs
    print(f"GIL switch interval {sys.getswitchinterval() * 1000:.1f} ms (as hotline serve)")
    for label, url in databases(args.pg or None, "mail.db"):
        run(label, url, args.mails, args.connections)
    return 0


if __name__ == "__main__":
    sys.exit(main())
