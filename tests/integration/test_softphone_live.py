"""`hotline phone` against the real Asterisk: stopping it leaves no contact behind, at once.

A stopped phone whose contact stays makes the queue ring a phone nobody runs; one that
kept running after SIGTERM for the rest of its --answer-after (its call thread slept it
out after the caller had gone) held every test that let a phone ring up to 15 s.
"""

from __future__ import annotations

import subprocess

import pytest

from hotline_cli.sip_unregister import unregister_all
from tests.pbx_fixture import Pbx


@pytest.mark.asterisk
@pytest.mark.timeout(90)
def test_a_phone_stopped_after_a_call_rang_out_exits_at_once_and_leaves_no_contact(pbx: Pbx) -> None:
    proc = pbx._start_phone("1002", answer_after=60.0, hangup_after=0.0)
    with proc:
        try:
            assert pbx._wait_contacts("1002", True, 10)
            since = pbx.tap.mark()
            call = pbx.place_call("+4930777", name="Klingel", duration=3)
            ring = pbx.tap.wait_for(lambda e: e["Event"] == "AgentCalled" and e.get("Interface") == "PJSIP/1002"
                                    and pbx.tap.events.index(e) >= since, timeout=15)
            assert isinstance(call, subprocess.Popen)
            call.wait(timeout=30)  # the caller gave up while it rang
            pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == ring["Linkedid"])
            proc.terminate()
            assert proc.wait(timeout=8) == 0  # not the 60 s it meant to let the call ring
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert pbx.contacts("1002") == []


@pytest.mark.asterisk
@pytest.mark.timeout(60)
def test_the_contact_of_a_killed_phone_is_removed_with_its_own_password_only(pbx: Pbx) -> None:
    proc = pbx._start_phone("1001", answer_after=1.0, hangup_after=0.0)
    with proc:
        assert pbx._wait_contacts("1001", True, 10)
        proc.kill()  # no chance to deregister
        proc.wait()
    assert pbx.contacts("1001"), "a killed phone's contact stays until it expires"
    assert not unregister_all("1001", pbx.sip_password("1002"), port=pbx.sip_port)
    assert pbx.contacts("1001")
    assert unregister_all("1001", pbx.sip_password("1001"), port=pbx.sip_port)
    assert pbx.contacts("1001") == []
