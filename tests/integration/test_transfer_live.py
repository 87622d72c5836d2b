"""Blind transfer from the console, for real: the agent on the call asks
POST /api/calls/{linkedid}/transfer, Asterisk moves the caller to 1002 (BlindTransfer),
and the call ends as `transferred` with one ticket, as Asterisk's queue_log says.

A target outside the directory ('12') is refused before anything reaches Asterisk and
the caller stays connected (`core show channels` proves it). A target that passes the
checks but fails in Asterisk (a known agent whose phone is not registered) cannot drop
the caller either: asterisk-config/extensions.conf sends a blind-transferred caller whose
Dial fails back into the queue (`requeue` in agents-dial), and one sent to no extension
at all through the `i` extension of `agents`."""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def caller_channel_up(pbx: Pbx, linkedid: str) -> str | None:
    """The caller's channel line of `core show channels concise` (its Uniqueid is the
    call's Linkedid), or None when Asterisk has no such channel."""
    lines = pbx.cli("core show channels concise").splitlines()
    return next((line for line in lines if line.split("!")[-1] == linkedid), None)


@contextlib.contextmanager
def answered_call(pbx: Pbx, database_url: str, tmp_path: Path, number: str,
                  ) -> Iterator[tuple[httpx.Client, dict[str, str], CallRecord, subprocess.Popen[str], Any]]:
    """A call from `number` answered by tina on 1001 (1002, bert's phone, is paused in the
    queue but answers a transfer); uwe has 1003 and no phone. Yields the logged-in client,
    tina's write headers, the call record, the SIPp caller and the session factory."""
    engine = make_engine(database_url)
    db = session_factory(engine)
    users = UserService(db)
    with db.begin() as s:
        s.query(User).filter(User.username.in_(["tina", "bert", "uwe"]) | User.endpoint.in_(
            ["PJSIP/1001", "PJSIP/1002", "PJSIP/1003"])).delete()
    users.add("tina", "transfer-pass", Role.AGENT, "PJSIP/1001")
    users.add("bert", "transfer-pass", Role.AGENT, "PJSIP/1002")
    users.add("uwe", "transfer-pass", Role.AGENT, "PJSIP/1003")
    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    pbx.cli("queue pause member PJSIP/1002 queue hotline reason test")  # the queue rings 1001 only
    try:
        with pbx.phone("1001", answer_after=1.0), pbx.phone("1002", answer_after=1.0), \
                serve(pbx, database_url, port, secrets.token_urlsafe(24), tmp_path / "serve.log"), \
                httpx.Client(base_url=base, headers={"Origin": base}) as http:
            me = http.post("/api/session", json={"username": "tina", "password": "transfer-pass"}).json()
            call = pbx.place_call(number, name="Weiterleiten", duration=10)
            assert isinstance(call, subprocess.Popen)

            def answered() -> CallRecord | None:
                with db() as s:
                    return s.scalars(select(CallRecord).where(CallRecord.caller_raw == number,
                                                              CallRecord.ticket_id.is_not(None))).one_or_none()

            poll(answered, timeout=20)
            record = answered()
            assert record is not None and record.agent == "PJSIP/1001"
            pbx.tap.wait_for(lambda e: e.get("Event") == "BridgeEnter" and e.get("Linkedid") == record.linkedid
                             and e.get("Channel", "").startswith("PJSIP/1001-"), timeout=10)
            yield http, {"X-CSRF-Token": me["csrf_token"]}, record, call, db
    finally:
        pbx.cli("queue unpause member PJSIP/1002 queue hotline")
        engine.dispose()  # its pooled connections closed now, not by the garbage collector in a later test


def test_blind_transfer_from_the_console_moves_the_caller(pbx: Pbx, module_database_url: str,
                                                         tmp_path: Path) -> None:
    with answered_call(pbx, module_database_url, tmp_path, NUMBER) as (http, headers, record, call, db):
        path = f"/api/calls/{record.linkedid}/transfer"
        r = http.post(path, json={"target": "12"}, headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "transfer_target_unknown", r.text
        assert not pbx.tap.of(record.linkedid, "BlindTransfer")
        up = caller_channel_up(pbx, record.linkedid)
        assert up is not None and up.split("!")[-2], up  # still there, still in a bridge with tina
        r = http.post(path, json={"target": "1002"}, headers=headers)
        assert r.status_code == 200, r.text
        assert pbx.tap.wait_for(lambda e: e.get("Event") == "BlindTransfer"
                                and e.get("TransfereeLinkedid") == record.linkedid, timeout=10)
        bad = http.post(path, json={"target": "1002\r\nAction: Hangup"}, headers=headers)
        assert bad.status_code in (409, 422)
        call.wait(timeout=40)

        def finished() -> CallRecord | None:
            with db() as s:
                rec = s.get(CallRecord, record.id)
                return rec if rec is not None and rec.outcome is not None else None

        poll(finished, timeout=20)
        done = finished()
        assert done is not None and done.outcome == "transferred"
        logged = {c.linkedid: c for c in finished_calls(pbx.asterisk.queue_log.read_text().splitlines())}
        assert logged[done.linkedid].outcome == "transferred"
        with db() as s:
            assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.linkedid == done.linkedid)) == 1


def test_a_transfer_that_fails_in_asterisk_sends_the_caller_back_to_the_queue(
        pbx: Pbx, module_database_url: str, tmp_path: Path) -> None:
    """uwe (1003) is a known agent, so the console lets the transfer through, but his phone
    is not registered: Dial fails at once (CHANUNAVAIL), and the caller goes back into the
    queue, where tina's phone rings again."""
    with answered_call(pbx, module_database_url, tmp_path, "+49 341 7100003") as (http, headers, record, _c, _db):
        mark = pbx.tap.mark()
        r = http.post(f"/api/calls/{record.linkedid}/transfer", json={"target": "uwe"}, headers=headers)
        assert r.status_code == 200, r.text

        def after(e: dict[str, str]) -> bool:
            return pbx.tap.events.index(e) >= mark and e.get("Linkedid") == record.linkedid

        pbx.tap.wait_for(lambda e: e.get("Event") == "BlindTransfer" and e.get("Extension") == "1003"
                         and e.get("TransfereeLinkedid") == record.linkedid, timeout=10)
        joined = pbx.tap.wait_for(lambda e: e.get("Event") == "QueueCallerJoin" and after(e), timeout=10)
        assert joined["Queue"] == "hotline" and joined["Channel"] == caller_channel_up(
            pbx, record.linkedid).split("!")[0]  # type: ignore[union-attr]


def ami_action(pbx: Pbx, fields: dict[str, str]) -> dict[str, str]:
    """One AMI action on a connection of its own (as the bridge would send it); its Response."""
    with socket.create_connection(("127.0.0.1", pbx.ami_port), timeout=10) as sock:
        def send(action: dict[str, str]) -> dict[str, str]:
            sock.sendall("".join(f"{k}: {v}\r\n" for k, v in action.items()).encode() + b"\r\n")
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = sock.recv(65536)
                    assert chunk, "AMI closed the connection"
                    buf += chunk
                frame, buf = buf.split(b"\r\n\r\n", 1)
                message = dict(line.split(": ", 1) for line in frame.decode().splitlines() if ": " in line)
                if message.get("ActionID") == action["ActionID"]:
                    return message

        login = send({"Action": "Login", "Username": pbx.ami_username, "Secret": pbx.ami_secret,
                      "Events": "off", "ActionID": "login"})
        assert login.get("Response") == "Success", login
        return send({**fields, "ActionID": "act"})


def test_asterisk_itself_never_drops_a_caller_blind_transferred_to_no_extension(
        pbx: Pbx, module_database_url: str, tmp_path: Path) -> None:
    """The net under the console's check: a BlindTransfer to '12' sent straight to AMI.
    Asterisk either refuses it (the caller stays with tina) or moves the caller into
    `agents`, whose `i` extension sends them back to the queue; either way no hangup."""
    with answered_call(pbx, module_database_url, tmp_path, "+49 341 7100004") as (_h, _hd, record, _c, _db):
        [leg] = [e["Channel"] for e in pbx.tap.of(record.linkedid, "BridgeEnter")
                 if e["Channel"].startswith("PJSIP/1001-")]
        mark = pbx.tap.mark()
        reply = ami_action(pbx, {"Action": "BlindTransfer", "Channel": leg, "Exten": "12", "Context": "agents"})
        if reply.get("Response") == "Success":
            pbx.tap.wait_for(lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Linkedid") == record.linkedid
                             and pbx.tap.events.index(e) >= mark, timeout=10)
        # Asterisk 22.10 answers "Transfer succeeded" and runs `i`: the caller is in Queue() again
        up = caller_channel_up(pbx, record.linkedid)
        assert up is not None, reply
