"""End to end in headless chromium: after a real call the agent's console shows the
wrap-up panel counting down Asterisk's own wrapuptime; "More time" pauses the agent
in Asterisk with the wrap-up reason (kept after Asterisk's wrap-up is over), and
"Ready" unpauses; the ticket and the context stay after it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Server, logged_in
from tests.pbx_fixture import Pbx, running_pbx

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]
WRAPUP = 6  # this module's queues.conf wrapuptime: long enough to click during it


@pytest.fixture(scope="module")
def pbx() -> Iterator[Pbx]:
    """This module's own Asterisk (the shared one has a 1 s wrap-up); boots in ~0.5 s."""
    with running_pbx(f"wrapup-{os.getpid()}", wrapup_time=WRAPUP) as found:
        yield found


def member(pbx: Pbx, agent: str) -> str:
    return next((line for line in pbx.cli("queue show hotline").splitlines() if f"({agent})" in line), "")


def remaining(page: Any) -> int:
    return int(page.get_attribute("#wrapup-countdown", "data-remaining"))


def test_wrap_up_panel_counts_down_and_more_time_then_ready(pbx: Pbx, server: Server, browser: Any) -> None:
    anna = logged_in(browser, server, "anna")
    assert anna.is_hidden("#wrapup")
    with pbx.phone("1001", answer_after=0.5):
        call = pbx.place_call("0341 2538-5588", name="Erika Browser", duration=3)
        assert isinstance(call, subprocess.Popen)
        try:
            anna.wait_for_selector(".ticket[data-ticket-id]", timeout=20_000)  # answered
            # the call ends: Asterisk's wrap-up, counted down from queues.conf's figure
            anna.wait_for_selector("#wrapup[data-phase=asterisk] #wrapup-countdown[data-remaining]",
                                   timeout=15_000)
            seen_at, first = time.monotonic(), remaining(anna)
            assert WRAPUP - 2 <= first <= WRAPUP, first
            assert anna.inner_text("#agent-state") == anna.evaluate("hl.t('wrap_up')")
            anna.wait_for_function(f"Number(document.getElementById('wrapup-countdown').dataset.remaining) < {first}",
                                   timeout=3_000)
            assert anna.is_hidden("#wrapup-ready")  # Asterisk's own wrap-up cannot be cut short
            # more time: a QueuePause with the wrap-up reason, visible in Asterisk
            anna.click("#wrapup-more")
            anna.wait_for_selector("#wrapup[data-phase=extended] #wrapup-ready", timeout=5_000)
            assert "paused:wrap-up" in member(pbx, "PJSIP/1001")
            # the reason's label in the user's language, not the raw AMI reason
            assert anna.inner_text("#pause-reason") == anna.evaluate("hl.t('reason_wrap_up')") != "wrap-up"
            # Asterisk's wrap-up runs out: the agent stays out of the queue
            time.sleep(max(0.0, first + 1.0 - (time.monotonic() - seen_at)))
            assert anna.get_attribute("#wrapup", "data-phase") == "extended"
            assert "paused:wrap-up" in member(pbx, "PJSIP/1001")
            # ready: unpaused, the panel goes, the agent is available again
            anna.click("#wrapup-ready")
            anna.wait_for_selector("#agent-state.available", timeout=5_000)
            assert anna.is_hidden("#wrapup")
            assert "paused" not in member(pbx, "PJSIP/1001")
            # the finished call's ticket and context stay until the agent leaves them
            assert anna.query_selector(".ticket[data-ticket-id]") is not None
            assert anna.get_attribute("#context", "data-phase") == "ended"
            call.wait(timeout=30)
        finally:
            if call.poll() is None:
                call.kill()
