"""The database unreachable for 30 s loses nothing: DbWriter retries until every call is written once.

PostgreSQL (HOTLINE_TEST_DATABASE_URL): the writer's engine connects through a
real TCP proxy (tests/tcp_proxy.py) which is cut, refusing connections, for 30 s.
SQLite: another connection holds `BEGIN EXCLUSIVE` for 30 s and the writer's
engine has a short busy timeout, so every write raises "database is locked".
Meanwhile 20 calls' ANSWERED/ENDED updates are submitted; after the outage each
call must have exactly one ticket and one finalized call record.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Row, delete, event, func, select
from sqlalchemy.engine import make_url

from cti import events as ev
from tests.factories import answered_call, new_linkedid
from tests.tcp_proxy import TcpProxy
from tickets.calls_service import TicketService
from tickets.db import make_engine, session_factory
from tickets.events import TicketCreated
from tickets.models import CallRecord, Ticket
from tickets.writer import DbWriter

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OUTAGE_S = 30.0
CALLS_DURING_OUTAGE = 20


def call_updates(prefix: str, number: str | None) -> list[ev.CallUpdated]:
    """ANSWERED and ENDED of one call: answered after 4 s at T0 + 4 s, ended at T0 + 64 s."""
    return answered_call(number, linkedid=new_linkedid(prefix), entered_at=T0, wait=4.0, ring=2.0, talk=60.0,
                         caller_name="Outage Caller")


def assert_each_call_written_once(tickets: Sequence[Row[tuple[str, int]]], records: Sequence[CallRecord],
                                  ticket_ids: dict[str, int], linkedids: set[str]) -> None:
    """(Linkedid, count) of the tickets, the call records: one each per call, all final."""
    assert {lid for lid, _ in tickets} == linkedids and all(n == 1 for _, n in tickets)
    assert sorted(r.linkedid for r in records) == sorted(linkedids)  # one record per call, none twice
    for r in records:
        assert r.ended_at == T0 + timedelta(seconds=64) and r.outcome == "answered"
        assert (r.talk_seconds, r.duration_seconds) == (60.0, 64.0)
        assert r.ticket_id == ticket_ids[r.linkedid]


Calls = list[list[ev.CallUpdated]]


async def ride_out_outage(writer: DbWriter, created: list[TicketCreated], prefix: str, first_number: str,
                          during_base: int, take_down: Callable[[], Awaitable[None] | None],
                          drain_s: float) -> tuple[Calls, Calls]:
    """Two calls written, then the database taken down and one call a second offered
    for OUTAGE_S seconds, none of which may be written yet. Returns (before, during);
    the caller brings the database back."""
    before = [call_updates(prefix, first_number), call_updates(prefix, None)]
    for u in itertools.chain.from_iterable(before):
        writer.submit(u)
    await asyncio.wait_for(writer.drain(), drain_s)  # pooled connections exist when the outage starts
    assert writer.retries == 0 and len(created) == 2

    down = take_down()
    if down is not None:
        await down
    down_at = time.monotonic()
    during = [call_updates(prefix, f"+4930{during_base + i:08d}" if i % 4 else None)
              for i in range(CALLS_DURING_OUTAGE)]
    for updates in during:  # one call a second, spread over the outage
        for u in updates:
            writer.submit(u)
        await asyncio.sleep(1.0)
    await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    assert writer.written == 4, "nothing can be written while the database is unavailable"
    assert writer.backlog >= 2 * CALLS_DURING_OUTAGE - 1
    return before, during


def sqlite_engine_with_short_busy_timeout(url: str) -> Engine:
    """tickets.db.make_engine's SQLite engine, but it gives up on a lock after 50 ms instead of 10 s."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=50")  # runs after make_engine's pragmas: this one wins

    return engine


@asynccontextmanager
async def outage_rig(database_url: str) -> AsyncIterator[tuple[Engine, Callable[[], None], Callable[[], None]]]:
    """(writer's engine, take the database away, give it back) for the configured test database."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        proxy = await TcpProxy(url.port or 5432).start()
        engine = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        try:
            yield engine, proxy.cut, lambda: proxy.cut(block=False)
        finally:
            engine.dispose()
            await proxy.stop()
        return
    assert url.database, database_url
    engine = sqlite_engine_with_short_busy_timeout(database_url)
    locker = sqlite3.connect(url.database, isolation_level=None, timeout=10)

    def lock() -> None:
        locker.execute("BEGIN EXCLUSIVE")

    def unlock() -> None:
        if locker.in_transaction:
            locker.execute("ROLLBACK")

    try:
        yield engine, lock, unlock
    finally:
        unlock()
        locker.close()
        engine.dispose()


@pytest.mark.timeout(120)
async def test_database_unreachable_for_30_seconds_loses_nothing(database_url: str) -> None:
    prefix = f"1797{time.time_ns() % 10**6:06d}"
    async with outage_rig(database_url) as (engine, take_down, bring_back):
        sessions = session_factory(engine)
        created: list[TicketCreated] = []
        writer = DbWriter(TicketService(sessions).handle, on_result=created.append)
        writer.start()
        try:
            before, during = await ride_out_outage(writer, created, prefix, "+4934125380001", 60_000_000,
                                                   take_down, 15)
            bring_back()

            await asyncio.wait_for(writer.drain(), 15)
        finally:
            bring_back()  # also on failure: closing the writer waits for its thread, which may be on the proxy
            await writer.close()
        assert writer.retries > 0 and writer.written == 2 * (2 + CALLS_DURING_OUTAGE)

    # count directly, not through the proxy: a sync query on this thread would block the proxy's loop
    linkedids = {u.call.linkedid for updates in before + during for u in updates}
    direct = make_engine(database_url)
    sessions = session_factory(direct)
    try:
        with sessions() as s:
            tickets = s.execute(select(Ticket.linkedid, func.count()).where(Ticket.linkedid.in_(linkedids))
                                .group_by(Ticket.linkedid)).all()
            records = s.scalars(select(CallRecord).where(CallRecord.linkedid.in_(linkedids))).all()
            ticket_ids = dict(s.execute(select(Ticket.linkedid, Ticket.id)
                                        .where(Ticket.linkedid.in_(linkedids))).all())
        assert_each_call_written_once(tickets, records, ticket_ids, linkedids)
        # a commit whose acknowledgement was lost is retried as a no-op, so at most one TicketCreated per call
        assert len({c.linkedid for c in created}) == len(created) <= len(linkedids)
    finally:
        with sessions.begin() as s:  # the session's database is shared with other tests
            s.execute(delete(CallRecord).where(CallRecord.linkedid.in_(linkedids)))
            s.execute(delete(Ticket).where(Ticket.linkedid.in_(linkedids)))
        direct.dispose()
