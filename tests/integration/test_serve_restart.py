"""Fault: the hotline process is killed (SIGKILL) while calls go on. On restart it
reconciles from Asterisk's queue_log: a call answered before the kill and ended
after it, and a call that came and went while it was down, each get exactly one
finished call record and one ticket, with Asterisk's figures; a further restart
adds nothing."""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cti.queue_log import finished_calls
from tests.pbx_fixture import Pbx, free_tcp_port
from tests.serve_process import children, serve
from tickets.db import make_engine, session_factory
from tickets.models import CallRecord, Ticket

pytestmark = pytest.mark.asterisk


def poll(pred: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_killed_process_reconciles_from_queue_log_exactly_once(
        pbx: Pbx, module_database_url: str, tmp_path: Path) -> None:
    database_url = module_database_url  # its own database
    db = session_factory(make_engine(database_url))

    def record(number: str) -> CallRecord | None:
        with db() as s:
            return s.scalars(select(CallRecord).where(CallRecord.caller_raw == number)).one_or_none()

    def tickets(linkedid: str) -> int:
        with db() as s:
            return s.scalar(select(func.count()).select_from(Ticket).where(Ticket.linkedid == linkedid)) or 0

    port, secret, log = free_tcp_port(), secrets.token_urlsafe(24), tmp_path / "serve.log"
    env = {"HOTLINE_QUEUE_LOG": str(pbx.asterisk.queue_log)}
    with pbx.phone("1001", answer_after=1.0):
        with serve(pbx, database_url, port, secret, log, **env) as proc:
            during = pbx.place_call("+49 341 7000001", name="Vor dem Absturz", duration=8)
            poll(lambda: (r := record("+49 341 7000001")) is not None and r.ticket_id is not None)
            writers = children(proc.pid)
            assert writers, "hotline serve runs its ticket writer in a child process"
            proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: a crash
            proc.wait(timeout=10)
            poll(lambda: not any(Path(f"/proc/{pid}").exists() for pid in writers), timeout=10)
        assert isinstance(during, subprocess.Popen)
        during.wait(timeout=40)  # ends while hotline is down
        while_down = pbx.place_call("+49 341 7000002", name="Waehrend", duration=4)
        assert isinstance(while_down, subprocess.Popen)
        while_down.wait(timeout=40)  # comes and goes while hotline is down
    first = record("+49 341 7000001")
    assert first is not None and first.outcome is None  # answered, but its end was never seen
    assert record("+49 341 7000002") is None
    for _ in range(2):  # the second start must find nothing left to do
        with serve(pbx, database_url, port, secret, log, **env):
            poll(lambda: all((r := record(n)) is not None and r.outcome is not None
                             for n in ("+49 341 7000001", "+49 341 7000002")))
            time.sleep(1.0)
    logged = {c.caller_raw: c for c in finished_calls(pbx.asterisk.queue_log.read_text().splitlines())}
    for number in ("+49 341 7000001", "+49 341 7000002"):
        rec, real = record(number), logged[number]
        assert rec is not None and rec.linkedid == real.linkedid
        assert rec.outcome == real.outcome == "answered" and rec.agent == "PJSIP/1001"
        assert abs((rec.wait_seconds or 0) - real.wait_seconds) <= 1
        assert abs((rec.talk_seconds or 0) - (real.talk_seconds or 0)) <= 1
        assert tickets(rec.linkedid) == 1 and rec.ticket_id is not None
    assert "reconciled 2 call(s)" in log.read_text()
