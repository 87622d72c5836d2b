"""Real calls into 5555 on a private Asterisk 22: the AMI events the bridge relies on.

Each test places a SIPp call with a given caller ID, lets pyVoIP agents ring or
answer, and asserts on the real AMI events of that call (found by Linkedid).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess

import pytest

from cti import events as ev
from tests.pbx_fixture import Pbx, call_of
from tests.replay import TRANSCRIPTS, agent_states, assert_figures, replay


def check_and_keep(pbx: Pbx, since_raw: int, name: str, linkedid: str,
                   expected: dict[str, object]) -> ev.CallSnapshot:
    """The registry's view of the call must match Asterisk's; keep the transcript."""
    arrivals = pbx.tap.arrived_since(since_raw)  # before raw: none of them beyond its end
    raw = bytes(pbx.tap.raw[since_raw:])
    calls = [replay(raw, seed, arrivals)[linkedid] for seed in range(3)]
    untimed = [dataclasses.replace(c, entered_at=None, answered_at=None, ended_at=None,
                                   duration_seconds=None) for c in calls]
    assert untimed[0] == untimed[1] == untimed[2]  # chunking never changes the result
    call = calls[0]
    assert_figures(call, expected)
    if not os.environ.get("HOTLINE_RECORD_TRANSCRIPTS"):
        return call  # set it to re-record tests/transcripts from this run
    TRANSCRIPTS.mkdir(exist_ok=True)
    (TRANSCRIPTS / f"{name}.ami").write_bytes(raw)
    (TRANSCRIPTS / f"{name}.json").write_text(json.dumps(
        {"linkedid": linkedid, "expected": expected}, indent=1, default=str) + "\n")
    return call

pytestmark = pytest.mark.asterisk


def _joined(pbx: Pbx, number: str, since: int) -> dict[str, str]:
    return pbx.tap.wait_for(
        lambda e: e["Event"] == "QueueCallerJoin" and e.get("CallerIDNum") == number
        and pbx.tap.events.index(e) >= since
    )


def _queued_call(pbx: Pbx, number: str, name: str, duration: int) -> tuple[object, str, int]:
    """A SIPp call from `number` placed and seen joining the queue: the call, its
    Linkedid, and where the raw AMI transcript stood before it."""
    since, raw0 = pbx.tap.mark(), len(pbx.tap.raw)
    call = pbx.place_call(number, name=name, duration=duration)
    return call, _joined(pbx, number, since)["Linkedid"], raw0


def _finish(call: object) -> None:
    assert isinstance(call, subprocess.Popen)
    call.wait(timeout=60)


def test_answered_call_reports_wait_talk_and_caller(pbx: Pbx) -> None:
    with pbx.phone("1001", answer_after=1.0):
        since, raw0 = pbx.tap.mark(), len(pbx.tap.raw)
        call = pbx.place_call("+49 341 2538-5555", name="Erika Muster", duration=6)
        join = _joined(pbx, "+49 341 2538-5555", since)
        linkedid = join["Linkedid"]
        assert join["Queue"] == "hotline"
        assert join["CallerIDName"] == "Erika Muster"
        assert join["Uniqueid"] == linkedid  # the caller's channel is the first one
        called = pbx.tap.wait_for(lambda e: e["Event"] == "AgentCalled"
                                  and e.get("Linkedid") == linkedid)
        assert called["Interface"] == "PJSIP/1001"
        connect = pbx.tap.wait_for(lambda e: e["Event"] == "AgentConnect"
                                   and e.get("Linkedid") == linkedid)
        assert 0 <= int(connect["HoldTime"]) <= 4
        assert connect["DestConnectedLineNum"] == "+49 341 2538-5555"
        complete = pbx.tap.wait_for(lambda e: e["Event"] == "AgentComplete"
                                    and call_of(e) == linkedid)
        _finish(call)
    # the caller hung up after 6 s from pickup: wait + talk add up to that
    assert complete["Reason"] == "caller"
    total = int(complete["HoldTime"]) + int(complete["TalkTime"])
    assert 5 <= total <= 7, complete
    hangup = pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid)
    assert hangup["Linkedid"] == linkedid
    check_and_keep(pbx, raw0, "answered", linkedid, {
        "outcome": "answered", "agent": "PJSIP/1001", "caller_number": "+4934125385555",
        "caller_raw": "+49 341 2538-5555", "caller_name": "Erika Muster",
        "wait_seconds": int(complete["HoldTime"]), "talk_seconds": int(complete["TalkTime"])})


def test_caller_hanging_up_in_queue_is_abandoned(pbx: Pbx) -> None:
    # 1001's contact may outlive an earlier test's phone by a moment: keep the queue on 1002
    pbx.cli("queue pause member PJSIP/1001 queue hotline reason abandon-test")
    try:
        _abandoned(pbx)
    finally:
        pbx.cli("queue unpause member PJSIP/1001 queue hotline")


def _abandoned(pbx: Pbx) -> None:
    with pbx.phone("1002", answer_after=30.0):
        call, linkedid, raw0 = _queued_call(pbx, "0341/2538-4444", "Ungeduldig", 3)
        abandon = pbx.tap.wait_for(lambda e: e["Event"] == "QueueCallerAbandon"
                                   and e.get("Linkedid") == linkedid)
        _finish(call)
    assert 2 <= int(abandon["HoldTime"]) <= 4
    assert int(abandon["OriginalPosition"]) >= 1
    assert not pbx.tap.of(linkedid, "AgentConnect")
    rings = pbx.tap.of(linkedid, "AgentCalled")
    assert rings and rings[0]["Interface"] == "PJSIP/1002"
    pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid)
    check_and_keep(pbx, raw0, "abandoned", linkedid, {
        "outcome": "abandoned", "agent": None, "caller_number": "+4934125384444",
        "wait_seconds": int(abandon["HoldTime"]), "answered_at": None})


def test_call_nobody_answers_times_out(pbx: Pbx) -> None:
    # queue max wait is 8 s in the test instance; the phone rings but never answers
    with pbx.phone("1002", answer_after=60.0):
        call, linkedid, raw0 = _queued_call(pbx, "+4930123456", "Geduldig", 30)
        exit_ev = pbx.tap.wait_for(lambda e: e["Event"] == "UserEvent"
                                   and e.get("UserEvent") == "HotlineQueueExit"
                                   and e.get("Linkedid") == linkedid, timeout=30)
        _finish(call)
    assert exit_ev["QueueStatus"] == "TIMEOUT"
    assert pbx.tap.of(linkedid, "QueueCallerLeave")
    assert not pbx.tap.of(linkedid, "AgentConnect")
    # Quirk (Asterisk 22.10): a queue timeout ALSO emits QueueCallerAbandon, just
    # before the dialplan's HotlineQueueExit. Only that UserEvent (or its absence
    # at hang-up) tells a timeout from a caller who gave up; the registry must
    # settle the outcome when the call ends, not at QueueCallerAbandon.
    abandon = pbx.tap.of(linkedid, "QueueCallerAbandon")
    assert abandon and pbx.tap.events.index(abandon[0]) < pbx.tap.events.index(exit_ev)
    pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid)
    check_and_keep(pbx, raw0, "queue_timeout", linkedid, {
        "outcome": "timeout", "agent": None, "wait_seconds": int(abandon[0]["HoldTime"])})


def test_ring_no_answer_moves_on_to_another_agent(pbx: Pbx) -> None:
    pbx.cli("dialplan set global QUEUE_MAX_WAIT 40")
    try:
        with pbx.phone("1001", answer_after=60.0), pbx.phone("1002", answer_after=60.0):
            call, linkedid, raw0 = _queued_call(pbx, "+49 89 1234567", "Weiter", 22)
            # queues.conf timeout = 15 s per ring; RingTime is milliseconds here
            noanswer = pbx.tap.wait_for(lambda e: e["Event"] == "AgentRingNoAnswer"
                                        and e.get("Linkedid") == linkedid, timeout=25)
            assert 14000 <= int(noanswer["RingTime"]) <= 16500
            pbx.tap.wait_for(lambda e: e["Event"] == "AgentCalled"
                             and e.get("Linkedid") == linkedid
                             and e.get("Interface") != noanswer["Interface"], timeout=10)
            _finish(call)
        pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid)
        call_view = check_and_keep(pbx, raw0, "ring_noanswer_then_other_agent", linkedid, {
            "outcome": "abandoned", "agent": None, "ringing_agents": ()})
        assert call_view.wait_seconds is not None and call_view.wait_seconds >= 15
    finally:
        pbx.cli("dialplan set global QUEUE_MAX_WAIT 8")


def test_after_hours_call_is_announced_and_reported(pbx: Pbx) -> None:
    pbx.cli("dialplan set global SERVICE_HOURS *,*,31,feb")  # never open
    try:
        since, raw0 = pbx.tap.mark(), len(pbx.tap.raw)
        call = pbx.place_call("+4940999", name="Spaet", duration=10)
        found = pbx.tap.wait_for(lambda e: e["Event"] == "UserEvent"
                              and e.get("UserEvent") == "HotlineAfterHours"
                              and pbx.tap.events.index(e) >= since)
        _finish(call)
    finally:
        pbx.cli("dialplan set global SERVICE_HOURS *")
    assert found["CallerIDNum"] == "+4940999"
    assert not pbx.tap.of(found["Linkedid"], "QueueCallerJoin")
    pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == found["Linkedid"])
    check_and_keep(pbx, raw0, "after_hours", found["Linkedid"], {
        "outcome": "after_hours", "caller_number": "+4940999", "agent": None})


def ami_action(pbx: Pbx, **fields: str) -> str:
    """One AMI action on its own short connection (the tap only listens)."""
    import socket

    with socket.create_connection(("127.0.0.1", pbx.ami_port), timeout=10) as s:
        s.recv(100)
        def send(**f: str) -> str:
            s.sendall("".join(f"{k}: {v}\r\n" for k, v in f.items()).encode() + b"\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(4096)
            return data.decode()
        send(Action="Login", Username=pbx.ami_username, Secret=pbx.ami_secret, Events="off")
        return send(**fields)


def test_blind_transfer_ends_the_queue_call_as_transferred(pbx: Pbx) -> None:
    pbx.cli("queue pause member PJSIP/1002 queue hotline reason transfer-test")
    try:
        with pbx.phone("1001", answer_after=1.0), pbx.phone("1002", answer_after=1.0):
            call, linkedid, raw0 = _queued_call(pbx, "+49 341 2538-3333", "Umleiten", 10)
            connect = pbx.tap.wait_for(lambda e: e["Event"] == "AgentConnect" and e.get("Linkedid") == linkedid)
            reply = ami_action(pbx, Action="BlindTransfer", Channel=connect["DestChannel"], Exten="1002",
                               Context="agents")
            assert "Response: Success" in reply, reply
            moved = pbx.tap.wait_for(lambda e: e["Event"] == "BlindTransfer"
                                     and e.get("TransfereeLinkedid") == linkedid)
            complete = pbx.tap.wait_for(lambda e: e["Event"] == "AgentComplete" and call_of(e) == linkedid)
            _finish(call)
    finally:
        pbx.cli("queue unpause member PJSIP/1002 queue hotline")
    assert moved["Extension"] == "1002" and complete["Reason"] == "transfer"
    pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid)
    check_and_keep(pbx, raw0, "blind_transfer", linkedid, {
        "outcome": "transferred", "agent": "PJSIP/1001", "transferred_to": "1002",
        "caller_number": "+4934125383333", "wait_seconds": int(complete["HoldTime"])})


def test_pause_with_reason_and_unpause_are_reported(pbx: Pbx) -> None:
    since, raw0 = pbx.tap.mark(), len(pbx.tap.raw)
    pbx.cli("queue pause member PJSIP/1002 queue hotline reason Mittagspause")
    paused = pbx.tap.wait_for(lambda e: e["Event"] == "QueueMemberPause" and e.get("Paused") == "1"
                              and e.get("Interface") == "PJSIP/1002" and pbx.tap.events.index(e) >= since)
    after = pbx.tap.events.index(paused)  # an earlier test's unpause may still arrive after `since`
    pbx.cli("queue unpause member PJSIP/1002 queue hotline")
    pbx.tap.wait_for(lambda e: e["Event"] == "QueueMemberPause" and e.get("Paused") == "0"
                     and e.get("Interface") == "PJSIP/1002" and pbx.tap.events.index(e) > after)
    assert paused["Interface"] == "PJSIP/1002" and paused["PausedReason"] == "Mittagspause"
    raw = bytes(pbx.tap.raw[raw0:])
    states = agent_states(raw, "PJSIP/1002")
    assert ("paused", "Mittagspause") in states and states[-1][0] != "paused"
    if os.environ.get("HOTLINE_RECORD_TRANSCRIPTS"):
        (TRANSCRIPTS / "pause_unpause.ami").write_bytes(raw)
        (TRANSCRIPTS / "pause_unpause.json").write_text(json.dumps(
            {"agent": "PJSIP/1002", "states": states}, indent=1) + "\n")
