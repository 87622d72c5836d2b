"""PostgreSQL stopped for 30 s and started again: the writer keeps every event and writes it once.

The shared server on 127.0.0.1:5432 must stay up (other tests and CI use it), so
this test runs a private cluster of its own (initdb into a temp dir, a free
loopback port, trust auth, run as the `postgres` user since PostgreSQL refuses
root), migrates it and drives the writer exactly as `hotline serve` builds it
(agent_console.app._writer: DbWriter over tickets.writer_process in its own
process). Two calls are written, then `pg_ctl stop -m fast` (a real shutdown:
the writer's pooled connections are terminated), 20 calls' ANSWERED/ENDED
updates arrive during 30 s without a server, `pg_ctl start`, and after the
writer drains every call has exactly one ticket and one finished call record,
reported once, and nothing else was written.
(tests/tickets/test_db_outage.py covers the same outage with a cut TCP proxy
against the shared server.)
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, table

from agent_console.assembly import policy_of, writer_of
from agent_console.mail_out import notices_of
from agent_console.settings import Settings
from cti.bus import EventBus
from tests.factories import capture_events
from tests.pbx_fixture import free_tcp_port
from tests.tickets.test_db_outage import CALLS_DURING_OUTAGE, assert_each_call_written_once, ride_out_outage
from tickets.db import make_engine, session_factory
from tickets.events import TicketCreated
from tickets.migrate import upgrade
from tickets.models import CallRecord, Ticket
from tickets.worker_process import Respawning

SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")


def server_bindir() -> Path:
    """`pg_config --bindir` when it holds the server binaries (it may be a client-only
    libpq-dev), else the newest /usr/lib/postgresql/<version>/bin."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)], reverse=True)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in SERVER_BINARIES):
            return bindir
    pytest.fail("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install the Debian package "
                "`postgresql` (./hotline.sh test does)", pytrace=False)


@dataclass
class PrivatePostgres:
    bindir: Path
    root: Path  # owned by the postgres user: data/, the unix socket, the log
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *args]
        out = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False)
        assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout}{out.stderr}\n{self.log()}"

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def initdb(self) -> None:
        self._as_postgres(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                          "--encoding=UTF8", "--no-locale", "--no-sync")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c max_connections=20")
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                          "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bindir = server_bindir()
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("no `postgres` system user: PostgreSQL refuses to run as root; install the Debian package "
                    "`postgresql` (it creates the user)", pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="hl-pg-"))  # short: the unix socket path must stay under 108 bytes
    os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = PrivatePostgres(bindir, root, free_tcp_port())
    try:
        cluster.initdb()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            subprocess.run(["runuser", "-u", "postgres", "--", str(bindir / "pg_ctl"), "-D", str(cluster.data),
                            "-m", "immediate", "-w", "-t", "30", "stop"],
                           cwd=root, capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)


def row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
                    for name in names}
    finally:
        engine.dispose()


@pytest.mark.timeout(240)
async def test_postgres_stopped_for_30_seconds_and_started_loses_nothing(private_postgres: PrivatePostgres) -> None:
    pg = private_postgres
    await asyncio.to_thread(upgrade, pg.url)
    rows_before = await asyncio.to_thread(row_counts, pg.url)
    prefix = f"1798{time.time_ns() % 10**6:06d}"

    settings = Settings(database_url=pg.url, writer_process=True)
    bus = EventBus()
    created = capture_events(bus, TicketCreated)
    parent_engine = make_engine(pg.url)  # the thread writer's; the process writer opens its own
    writer = writer_of(settings, session_factory(parent_engine), policy_of(settings), bus, notices_of(settings))
    assert isinstance(writer._pool, Respawning), "not the writer `hotline serve` runs"
    writer.start()
    try:
        # the first drain waits for the worker process to start and hold a pooled connection
        before, during = await ride_out_outage(writer, created, prefix, "+4934125380011", 61_000_000,
                                               lambda: asyncio.to_thread(pg.stop, "fast"), 60)
        assert writer.retries > 0, "the writer did not notice the server was gone"
        await asyncio.to_thread(pg.start)

        await asyncio.wait_for(writer.drain(), 90)
    finally:
        await writer.close()
        parent_engine.dispose()
    assert writer.written == 2 * (2 + CALLS_DURING_OUTAGE)

    linkedids = {u.call.linkedid for updates in before + during for u in updates}
    engine = make_engine(pg.url)
    sessions = session_factory(engine)
    try:
        with sessions() as s:
            tickets = s.execute(select(Ticket.linkedid, func.count()).group_by(Ticket.linkedid)).all()
            ticket_ids = dict(s.execute(select(Ticket.linkedid, Ticket.id)).all())
            records = s.scalars(select(CallRecord)).all()
    finally:
        engine.dispose()
    assert_each_call_written_once(tickets, records, ticket_ids, linkedids)  # all rows: no others
    assert sorted(c.linkedid for c in created) == sorted(linkedids)  # each ticket reported exactly once
    assert all(c.ticket_id == ticket_ids[c.linkedid] for c in created)

    rows_after = await asyncio.to_thread(row_counts, pg.url)
    grown = {name: n - rows_before.get(name, 0) for name, n in rows_after.items() if n != rows_before.get(name, 0)}
    marks = grown.pop("report_agg_marks", 0)  # the report aggregates' dirty hours, marked in the same writes
    assert marks >= 1, "the written calls' hours are not marked for the report aggregates"
    assert grown == {"tickets": len(linkedids), "call_records": len(linkedids)}, "nothing else is written"
