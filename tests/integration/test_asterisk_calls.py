"""Real calls into 5555 on a private Asterisk 22: the AMI events the bridge relies on.

Each test places a SIPp call with a given caller ID, lets pyVoIP agents ring or
answer, and asserts on the real AMI events of that call (found by Linkedid).
"""

from __future__ import annotations

import subprocess

import pytest

from tests.pbx_fixture import Pbx

pytestmark = pytest.mark.asterisk


def _joined(pbx: Pbx, number: str, since: int) -> dict[str, str]:
    return pbx.tap.wait_for(
        lambda e: e["Event"] == "QueueCallerJoin" and e.get("CallerIDNum") == number
        and pbx.tap.events.index(e) >= since
    )


def _finish(call: object) -> None:
    assert isinstance(call, subprocess.Popen)
    call.wait(timeout=60)


def test_answered_call_reports_wait_talk_and_caller(pbx: Pbx) -> None:
    with pbx.phone("1001", answer_after=1.0):
        since = pbx.tap.mark()
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
                                    and e.get("Linkedid") == linkedid)
        _finish(call)
    # the caller hung up after 6 s from pickup: wait + talk add up to that
    assert complete["Reason"] == "caller"
    total = int(complete["HoldTime"]) + int(complete["TalkTime"])
    assert 5 <= total <= 7, complete
    hangup = pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid)
    assert hangup["Linkedid"] == linkedid


def test_caller_hanging_up_in_queue_is_abandoned(pbx: Pbx) -> None:
    with pbx.phone("1002", answer_after=30.0):
        since = pbx.tap.mark()
        call = pbx.place_call("0341/2538-4444", name="Ungeduldig", duration=3)
        linkedid = _joined(pbx, "0341/2538-4444", since)["Linkedid"]
        abandon = pbx.tap.wait_for(lambda e: e["Event"] == "QueueCallerAbandon"
                                   and e.get("Linkedid") == linkedid)
        _finish(call)
    assert 2 <= int(abandon["HoldTime"]) <= 4
    assert int(abandon["OriginalPosition"]) >= 1
    assert not pbx.tap.of(linkedid, "AgentConnect")
    rings = pbx.tap.of(linkedid, "AgentCalled")
    assert rings and rings[0]["Interface"] == "PJSIP/1002"


def test_call_nobody_answers_times_out(pbx: Pbx) -> None:
    # queue max wait is 8 s in the test instance; the phone rings but never answers
    with pbx.phone("1002", answer_after=60.0):
        since = pbx.tap.mark()
        call = pbx.place_call("+4930123456", name="Geduldig", duration=30)
        linkedid = _joined(pbx, "+4930123456", since)["Linkedid"]
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


def test_ring_no_answer_moves_on_to_another_agent(pbx: Pbx) -> None:
    pbx.cli("dialplan set global QUEUE_MAX_WAIT 40")
    try:
        with pbx.phone("1001", answer_after=60.0), pbx.phone("1002", answer_after=60.0):
            since = pbx.tap.mark()
            call = pbx.place_call("+49 89 1234567", name="Weiter", duration=22)
            linkedid = _joined(pbx, "+49 89 1234567", since)["Linkedid"]
            # queues.conf timeout = 15 s per ring; RingTime is milliseconds here
            noanswer = pbx.tap.wait_for(lambda e: e["Event"] == "AgentRingNoAnswer"
                                        and e.get("Linkedid") == linkedid, timeout=25)
            assert 14000 <= int(noanswer["RingTime"]) <= 16500
            pbx.tap.wait_for(lambda e: e["Event"] == "AgentCalled"
                             and e.get("Linkedid") == linkedid
                             and e.get("Interface") != noanswer["Interface"], timeout=10)
            _finish(call)
    finally:
        pbx.cli("dialplan set global QUEUE_MAX_WAIT 8")


def test_after_hours_call_is_announced_and_reported(pbx: Pbx) -> None:
    pbx.cli("dialplan set global SERVICE_HOURS *,*,31,feb")  # never open
    try:
        since = pbx.tap.mark()
        call = pbx.place_call("+4940999", name="Spaet", duration=10)
        ev = pbx.tap.wait_for(lambda e: e["Event"] == "UserEvent"
                              and e.get("UserEvent") == "HotlineAfterHours"
                              and pbx.tap.events.index(e) >= since)
        _finish(call)
    finally:
        pbx.cli("dialplan set global SERVICE_HOURS *")
    assert ev["CallerIDNum"] == "+4940999"
    assert not pbx.tap.of(ev["Linkedid"], "QueueCallerJoin")
