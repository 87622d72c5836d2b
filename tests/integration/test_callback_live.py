"""Callback before the breach, with real Asterisk, real SIP and `hotline serve`.

The only agent (1001) is busy with a first caller, so the forecast for the next
caller is past 25 s: that caller hears the offer, presses 1 (RFC 2833 DTMF from
SIPp's own capture) while waiting, and hangs up. When 1001 is free again hotline
rings 1001 first, then the caller's number over the trunk, where SIPp answers as
the caller's phone. One ticket, one call record, both linked to the callback item;
the call counts as `callback`, not as an abandon.

And the frozen hotline (SIGSTOP: its AGI port still accepts connections but never
answers): a caller still reaches an agent, the dialplan's guard gives up on the
AGI after 1 s, also when hotline freezes in the middle of the caller dialogue
(every FastAGI call of extensions_ivr.conf goes through the guard).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline_cli.phones import _sipp_prefix, free_udp_port
from tests.db_fixture import db_sessions
from tests.integration.test_routing_live import TimedTap
from tests.pbx_fixture import Event, Pbx, free_tcp_port, verbose_log
from tests.serve_process import serve
from tickets.models import Callback, CallRecord, Ticket

pytestmark = pytest.mark.asterisk

SCENARIOS = Path(__file__).parent / "sipp"
BUSY_NUMBER = "+4930123450001"  # keeps the agent busy
CALLER = "+493415550123"  # asks for the callback
STRANGER = "+493515550177"  # no contact: hears the language choice


def _sipp(scenario: str, args: list[str], **keys: str) -> subprocess.Popen[str]:
    prefix, outer, inner = _sipp_prefix()
    tag = f"{os.getpid()}-{free_udp_port()}"
    xml = (SCENARIOS / scenario).read_text()
    for key, value in keys.items():
        xml = xml.replace(f"[{key}]", value)
    (outer / f"{tag}-{scenario}").write_text(xml)
    return subprocess.Popen([*prefix, *args, "-sf", str(inner / f"{tag}-{scenario}"), "-nostdin", "-m", "1",
                             "-timeout", "90s", "-timeout_error"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def dialplan_log(pbx: Pbx) -> Iterator[Path]:
    """Asterisk's own log of every dialplan step it executes (verbose), for one test."""
    with verbose_log(pbx, "guard") as path:
        yield path


def callers_phone(pbx: Pbx, talk_ms: int, ring_ms: int = 300) -> subprocess.Popen[str]:
    """SIPp as the caller's phone: the UAS behind the trunk's contact, answering after `ring_ms`."""
    return _sipp("answer.xml", ["-i", "127.0.0.1", "-p", str(pbx.asterisk.config.trunk_peer_port),
                                "-mi", "127.0.0.1", "-mp", str(free_udp_port())],
                 ring_ms=str(ring_ms), talk_ms=str(talk_ms))


def _poll(pred: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def _fresh(pbx: Pbx, since: int) -> Callable[[Event], bool]:
    return lambda e: pbx.tap.events.index(e) >= since


def _settled(url: str, linkedid: str) -> bool:
    with db_sessions(url) as sessions, sessions() as s:
        item = s.scalars(select(Callback).where(Callback.linkedid == linkedid)).one_or_none()
        record = s.scalars(select(CallRecord).where(CallRecord.linkedid == linkedid)).one_or_none()
        return (item is not None and item.status.value == "done" and record is not None
                and record.outcome is not None)


def _place_state(url: str, linkedid: str) -> str | None:
    with db_sessions(url) as sessions, sessions() as s:
        return s.scalar(select(Callback.place_state).where(Callback.linkedid == linkedid))


def _ticket_of(url: str, linkedid: str) -> bool:
    with db_sessions(url) as sessions, sessions() as s:
        return s.scalar(select(Ticket.id).where(Ticket.linkedid == linkedid)) is not None


def _stop(*procs: subprocess.Popen[str]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_caller_presses_1_during_the_offer_hangs_up_and_is_called_back_when_the_agent_is_free(
        pbx: Pbx, database_url: str, tmp_path: Path, dialplan_log: Path) -> None:
    """The only agent is busy, the forecast for the next caller is past 25 s: the caller
    hears the wait and the offer and presses 1 during the offer (so never joins the queue),
    hangs up. Once the busy call ends, hotline rings 1001 first and is stopped while it
    rings: the caller's phone picks up (after 8 s) while no hotline listens, so the result
    reaches hotline only through queue_log when it starts again (the place is in the DB,
    dialling): the item is done, the caller not called twice. The caller keeps pressing 1
    every second from 2 s on (RFC 2833, each press its own capture): presses during the
    stock announcements are dropped by Playback, the first one the offer's Read() hears counts."""
    port, secret, log = free_tcp_port(), secrets.token_urlsafe(24), tmp_path / "serve.log"
    since = pbx.tap.mark()
    fresh = _fresh(pbx, since)
    # callbacks to German numbers; on this loaded machine (load average 10-16 on 2 cores)
    # the 0.3 s AGI deadline was missed now and then: the guard's 0.7 s still holds
    allow = {"HOTLINE_DIAL_ALLOW": "10XX,5555,+49.", "HOTLINE_AGI_DEADLINE_SECONDS": "0.6"}
    # the session's Asterisk logged every earlier test's calls too: hotline gets only this
    # test's part of its queue_log (else their records would teach the forecast short calls)
    queue_log, excerpt = pbx.asterisk.queue_log, tmp_path / "queue_log"
    log_start = queue_log.stat().st_size if queue_log.exists() else 0
    with pbx.phone("1001", answer_after=0.3):
        with serve(pbx, database_url, port, secret, log, **allow):
            busy = pbx.place_call(BUSY_NUMBER, name="Busy", duration=24)
            busy_linkedid = pbx.tap.wait_for(lambda e: e["Event"] == "AgentConnect" and fresh(e))["Linkedid"]
            # hotline has seen the agent take it (its ticket is written): the forecast knows 1001 is busy
            _poll(lambda: _ticket_of(database_url, busy_linkedid))
            phone = callers_phone(pbx, talk_ms=2000, ring_ms=8000)
            caller = pbx.place_call(CALLER, name="Rita Rueckruf", duration=2,
                                    dtmf=",".join(["1@2"] + ["1@1"] * 17))
            assert isinstance(caller, subprocess.Popen)
            try:
                new = pbx.tap.wait_for(lambda e: e["Event"] == "Newchannel"
                                       and e.get("CallerIDNum") == CALLER and fresh(e))
                linkedid, channel = new["Linkedid"], re.escape(new["Channel"])
                assert caller.wait(timeout=60) == 0, caller.stdout.read() if caller.stdout else ""
                pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid)
                assert not pbx.tap.of(linkedid, "AgentConnect")
                said = [line for line in log.read_text().splitlines() if "AGI " in line]
                # pressed in the offer, before Queue()
                assert not pbx.tap.of(linkedid, "QueueCallerJoin"), said
                assert [e["Context"] for e in pbx.tap.of(linkedid, "Hangup")] == ["hotline-queue-keys"]
                steps = dialplan_log.read_text(errors="replace")
                offer = re.search(rf'\[s@hotline-wait:\d+\] Read\("{channel}", "HOTLINE_KEY,hotline/callback-offer',
                                  steps)
                keys = re.search(rf'\[1@hotline-queue-keys:1\] Set\("{channel}"', steps)
                assert offer and keys and offer.start() < keys.start(), steps[-3000:]
                # the busy call ends, 1001 is free: hotline rings 1001 first
                _poll(lambda: _place_state(database_url, linkedid) == "dialing", timeout=60)
            except BaseException:
                _stop(phone)
                raise
        stopped = pbx.tap.mark()
        try:  # 1001 answers, then the caller's phone, while no hotline listens
            result = pbx.tap.wait_for(lambda e: e["Event"] == "UserEvent" and fresh(e)
                                      and e.get("UserEvent") == "HotlineCallbackResult", timeout=60)
            assert pbx.tap.events.index(result) >= stopped, "the result came before hotline stopped"
            assert result["DialStatus"] == "ANSWER", result
            assert phone.wait(timeout=40) == 0, phone.stdout.read() if phone.stdout else ""
        finally:
            _stop(phone)
        assert _place_state(database_url, linkedid) == "dialing"  # nobody has settled it yet
        with queue_log.open("rb") as fh:
            fh.seek(log_start)
            excerpt.write_bytes(fh.read())
        assert f"|CALLBACKRESULT|{int(result['CallbackId'])}|ANSWER" in excerpt.read_text()
        with serve(pbx, database_url, port, secret, log, HOTLINE_QUEUE_LOG=str(excerpt), **allow):
            assert isinstance(busy, subprocess.Popen)
            busy.wait(timeout=30)
            _poll(lambda: _settled(database_url, linkedid))
    with db_sessions(database_url) as sessions, sessions() as s:
        item = s.scalars(select(Callback).where(Callback.linkedid == linkedid)).one()
        assert (item.reason, item.place_state, item.caller_number, item.done_by, item.refused) == (
            "callback", "done", CALLER, "callback", "")
        records = s.scalars(select(CallRecord).where(CallRecord.callback_id == item.id)).all()
        assert [(r.linkedid, r.outcome, r.ticket_id) for r in records] == [(linkedid, "callback", item.ticket_id)]
        assert item.ticket_id is not None
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.linkedid == linkedid)) == 1
        # the callback call makes no ticket of its own: the busy caller's and this caller's only
        assert sorted(s.scalars(select(Ticket.linkedid))) == sorted([busy_linkedid, linkedid])
        # no abandon item for this number (it is not an abandon)
        assert s.scalar(select(func.count()).select_from(Callback).where(
            Callback.caller_number == CALLER, Callback.reason != "callback")) == 0


def _join_after(tap: TimedTap, pbx: Pbx, name: str) -> float:
    """Place a call; seconds from its Newchannel to its QueueCallerJoin (as AMI told them)."""
    since = len(tap.times)
    pbx.place_call(BUSY_NUMBER, name=name, duration=5)
    new = tap.wait_for(lambda e: e["Event"] == "Newchannel" and tap.events.index(e) >= since
                       and e.get("CallerIDName") == name)
    linkedid = new["Linkedid"]
    joined = tap.at(lambda e: e["Event"] == "QueueCallerJoin" and e.get("Linkedid") == linkedid)
    tap.wait_for(lambda e: e["Event"] == "AgentConnect" and e.get("Linkedid") == linkedid)
    tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid)
    return joined - tap.at(lambda e: e is new)


def test_a_frozen_hotline_does_not_hold_the_caller(pbx: Pbx, database_url: str, tmp_path: Path) -> None:
    """SIGSTOP: the AGI port still accepts (the kernel's backlog), nothing answers. The
    dialplan's guard gives up after 0.7 s and the caller takes the plain queue and
    reaches an agent, at most 1 s later than with a working hotline."""
    port, secret, log = free_tcp_port(), secrets.token_urlsafe(24), tmp_path / "serve.log"
    tap = TimedTap(pbx.ami_port, pbx.ami_secret)
    try:
        with pbx.phone("1001", answer_after=0.3), serve(pbx, database_url, port, secret, log) as proc:
            normal_s = _join_after(tap, pbx, "Normal")
            os.kill(proc.pid, signal.SIGSTOP)
            try:
                frozen_s = _join_after(tap, pbx, "Frozen")
            finally:
                os.kill(proc.pid, signal.SIGCONT)
    finally:
        tap.close()
    print(f"Newchannel -> QueueCallerJoin: hotline working {normal_s * 1000:.0f} ms, "
          f"frozen {frozen_s * 1000:.0f} ms")
    assert frozen_s <= normal_s + 1.0, (normal_s, frozen_s)


def test_a_hotline_frozen_during_the_caller_dialogue_does_not_hold_the_caller(
        pbx: Pbx, database_url: str, tmp_path: Path, dialplan_log: Path) -> None:
    """hotline routes a stranger (the caller dialogue: the language choice), then freezes
    (SIGSTOP). The caller presses 1 (German); the dialplan asks `route` again with the
    choice, through [hotline-agi-guard] with two arguments, which gives up after 0.7 s;
    the status question, the guarded `wait`, and the caller reaches the agent. An
    unguarded AGI() here held the caller until they hung up."""
    port, secret, log = free_tcp_port(), secrets.token_urlsafe(24), tmp_path / "serve.log"
    fresh = _fresh(pbx, pbx.tap.mark())
    # the first route must be answered (0.6 s: the machine may be loaded); then the freeze
    with pbx.phone("1001", answer_after=0.3), serve(pbx, database_url, port, secret, log, HOTLINE_IVR="true",
                                                     HOTLINE_AGI_DEADLINE_SECONDS="0.6") as proc:
        pbx.place_call(STRANGER, name="Frieda Frost", duration=20, dtmf="1@4")
        new = pbx.tap.wait_for(lambda e: e["Event"] == "Newchannel" and e.get("CallerIDNum") == STRANGER
                               and fresh(e))
        linkedid, channel = new["Linkedid"], re.escape(new["Channel"])
        routed = re.compile(rf'NoOp\("{channel}", "hotline route: SUCCESS 1 ')
        _poll(lambda: routed.search(dialplan_log.read_text(errors="replace")), timeout=20)
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            pbx.tap.wait_for(lambda e: e["Event"] == "AgentConnect" and e.get("Linkedid") == linkedid, timeout=40)
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        # the call ends before the agent's phone goes: no call left on 1001 for the next test
        pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid, timeout=60)
    text = dialplan_log.read_text(errors="replace")
    # the choice went back to hotline through the guard, and the guard gave up on it
    assert re.search(rf'\[s@hotline-agi-guard:\d+\] AGI\("{channel}", "agi://[^"]+/route,{re.escape(linkedid)},de"\)',
                     text), text[-3000:]
    assert re.search(rf'\[T@hotline-agi-guard:1\] NoOp\("{channel}", "hotline FastAGI agi://[^"]+/route did not',
                     text), text[-3000:]
