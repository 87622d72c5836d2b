"""The writer as `hotline serve` runs it: in a process of its own, same results, same retries."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.db_fixture import Sessions
from tests.factories import add_contact, answered_call
from tickets import writer_process
from tickets.events import TicketCreated
from tickets.models import CallRecord, Ticket
from tickets.worker_process import Respawning, detach
from tickets.writer import DbWriter, RetryLater
from tickets.writer_process import WriterConfig


async def test_process_writer_creates_one_ticket_per_call_and_reports_it(
        sessions: Sessions, database_url: str) -> None:
    contact = add_contact(sessions, "Erika Prozess", "+4934199990001")
    created: list[TicketCreated] = []
    config = WriterConfig(database_url, None, timedelta(minutes=60), 5)
    writer = DbWriter(writer_process.handle, on_result=created.append, executor=writer_process.executor(config))
    writer.start()
    updates = answered_call("+4934199990001")
    for update in [*updates, *updates]:  # replayed: still one ticket
        writer.submit(update)
    await asyncio.wait_for(writer.drain(), 60)
    await writer.close()
    linkedid = updates[0].call.linkedid
    assert [(c.linkedid, c.contact_id) for c in created] == [(linkedid, contact)]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.linkedid == linkedid)) == 1
        record = s.scalars(select(CallRecord).where(CallRecord.linkedid == linkedid)).one()
    assert record.outcome == "answered" and record.talk_seconds == 120.0


async def test_retry_later_is_retried_until_it_lands() -> None:
    attempts: list[int] = []

    def flaky(item: int) -> int:
        attempts.append(item)
        if len(attempts) < 3:
            raise RetryLater("database is starting up")
        return item * 2

    results: list[int] = []
    writer = DbWriter(flaky, on_result=results.append, backoff_max=0.05)
    writer.start()
    writer.submit(21)
    await asyncio.wait_for(writer.drain(), 10)
    await writer.close()
    assert results == [42] and writer.retries == 2 and attempts == [21, 21, 21]


def _write_or_die(item: tuple[str, str]) -> str:
    """In the worker process: the first time an item named "die" comes, the process dies
    while writing it (a marker file remembers it across processes)."""
    marker, name = item
    if name == "die" and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return name


async def test_a_writer_process_that_dies_while_writing_is_replaced_and_nothing_is_lost(tmp_path: Path) -> None:
    pool = Respawning("test writer", detach, ())
    results: list[str] = []
    writer = DbWriter(_write_or_die, on_result=results.append, backoff_max=0.05, executor=pool)
    writer.start()
    marker = str(tmp_path / "died")
    for name in ("before", "die", "after"):
        writer.submit((marker, name))
    await asyncio.wait_for(writer.drain(), 60)
    await writer.close()
    assert results == ["before", "die", "after"] and (tmp_path / "died").exists()
    assert pool.respawns == 1 and writer.retries >= 1


async def test_the_serve_writer_after_its_process_was_killed_writes_the_next_calls(
        sessions: Sessions, database_url: str) -> None:
    config = WriterConfig(database_url, None, timedelta(minutes=60), 5)
    pool = writer_process.executor(config)
    writer = DbWriter(writer_process.handle, on_result=lambda _r: None, executor=pool)
    writer.start()
    first, second = answered_call("+4934199990002"), answered_call("+4934199990003")
    for update in first:
        writer.submit(update)
    await asyncio.wait_for(writer.drain(), 60)
    pid = await asyncio.to_thread(lambda: pool.submit(os.getpid).result())
    os.kill(pid, signal.SIGKILL)  # the OOM killer, say
    for update in second:
        writer.submit(update)
    await asyncio.wait_for(writer.drain(), 60)
    await writer.close()
    with sessions() as s:
        for updates in (first, second):
            linkedid = updates[0].call.linkedid
            assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.linkedid == linkedid)) == 1
            assert s.scalar(select(func.count()).select_from(CallRecord).where(CallRecord.linkedid == linkedid)) == 1
    assert pool.respawns == 1 and writer.restarts == 1
