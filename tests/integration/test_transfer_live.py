"""Blind transfer from the console, for real: the agent on the call asks
POST /api/calls/{linkedid}/transfer, Asterisk moves the caller to 1002 (BlindTransfer),
and the call ends as `transferred` with one ticket, as Asterisk's queue_log says."""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from cti.queue_log import finished_calls
from tests.integration.test_serve_restart import poll
from tests.pbx_fixture import Pbx, free_tcp_port
from tests.serve_process import serve
from tickets.db import make_engine, session_factory
from tickets.models import CallRecord, Role, Ticket, User
from tickets.users import UserService

pytestmark = pytest.mark.asterisk
NUMBER = "+49 341 7100001"


def test_blind_transfer_from_the_console_moves_the_caller(pbx: Pbx, module_database_url: str,
                                                         tmp_path: Path) -> None:
    database_url = module_database_url  # its own database
    db = session_factory(make_engine(database_url))
    users = UserService(db)
    with db.begin() as s:
        s.query(User).filter((User.username == "tina") | (User.endpoint == "PJSIP/1001")).delete()
    users.add("tina", "transfer-pass", Role.AGENT, "PJSIP/1001")
    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    pbx.cli("queue pause member PJSIP/1002 queue hotline reason test")  # the queue rings 1001 only
    try:
        with pbx.phone("1001", answer_after=1.0), pbx.phone("1002", answer_after=1.0), \
                serve(pbx, database_url, port, secrets.token_urlsafe(24), tmp_path / "serve.log"), \
                httpx.Client(base_url=base, headers={"Origin": base}) as http:
            me = http.post("/api/session", json={"username": "tina", "password": "transfer-pass"}).json()
            call = pbx.place_call(NUMBER, name="Weiterleiten", duration=10)
            assert isinstance(call, subprocess.Popen)

            def answered() -> CallRecord | None:
                with db() as s:
                    return s.scalars(select(CallRecord).where(CallRecord.caller_raw == NUMBER,
                                                              CallRecord.ticket_id.is_not(None))).one_or_none()

            poll(answered, timeout=20)
            record = answered()
            assert record is not None and record.agent == "PJSIP/1001"
            time.sleep(1.0)  # both legs up
            r = http.post(f"/api/calls/{record.linkedid}/transfer", json={"target": "1002"},
                          headers={"X-CSRF-Token": me["csrf_token"]})
            assert r.status_code == 200, r.text
            assert pbx.tap.wait_for(lambda e: e.get("Event") == "BlindTransfer"
                                    and e.get("TransfereeLinkedid") == record.linkedid, timeout=10)
            bad = http.post(f"/api/calls/{record.linkedid}/transfer", json={"target": "1002\r\nAction: Hangup"},
                            headers={"X-CSRF-Token": me["csrf_token"]})
            assert bad.status_code in (409, 422)
            call.wait(timeout=40)

            def finished() -> CallRecord | None:
                with db() as s:
                    rec = s.get(CallRecord, record.id)
                    return rec if rec is not None and rec.outcome is not None else None

            poll(finished, timeout=20)
    finally:
        pbx.cli("queue unpause member PJSIP/1002 queue hotline")
    done = finished()
    assert done is not None and done.outcome == "transferred"
    logged = {c.linkedid: c for c in finished_calls(pbx.asterisk.queue_log.read_text().splitlines())}
    assert logged[done.linkedid].outcome == "transferred"
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.linkedid == done.linkedid)) == 1
