"""The pop of a callback call in the console: "Rückruf an …" / "Callback to …", how long
the caller waited before asking, the callback item and its ticket; the caller's name
shown as text, never as markup. The dispatcher's CallbackRinging is put on the demo
server's bus (no Asterisk: the live callback is tests/integration/test_callback_live.py)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cti import events as ev
from tests.browser.demo_day import DemoServer, closing, demo_server, open_as

pytestmark = [pytest.mark.browser]
NAME = "<img src=x onerror=window.__xss=1>Rita"


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[DemoServer]:
    with demo_server(module_database_url) as server:
        yield server


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_callback_pop_says_callback_to_the_caller_with_the_wait_item_and_ticket(
        demo: DemoServer, browser: Any, lang: str, tmp_path: Path) -> None:
    services = demo.app.state.services
    callback_id = {"de": 41, "en": 42}[lang]  # one per language: a pop of its own
    ticket_id = None if lang == "de" else 7  # with and without the ticket made when the caller pressed 1
    with closing(open_as(browser, demo, "cem", lang, "/console")) as page:
        page.wait_for_function("document.body.dataset.ws === 'open'")
        event = ev.CallbackRinging(at=services.wallboard.clock(), callback_id=callback_id, agent="PJSIP/1003",
                                   caller_raw="0341 5550123", caller_number="+493415550123", caller_name=NAME,
                                   waited_seconds=95.0, ticket_id=ticket_id)
        asyncio.run_coroutine_threadsafe(services.bus.publish(event), demo.loop).result(timeout=10)
        page.wait_for_selector(f"#context[data-linkedid='callback-{callback_id}'] #ctx-callback")
        page.screenshot(path=str(tmp_path / f"callback-pop-{lang}.png"))
        timer = page.inner_text("#ctx-timer")  # the agent's ring, not a caller's wait
        assert re.fullmatch(r"(Klingelt seit|Ringing for) 0:\d\d", timer), timer
        assert timer.startswith("Klingelt seit" if lang == "de" else "Ringing for")
        heading = page.inner_text("#context-caller")
        waited = page.inner_text("#ctx-callback-waited")
        item = page.inner_text("#ctx-callback-item")
        if lang == "de":
            assert heading == f"Rückruf an {NAME} (+493415550123)"
            assert (waited, item) == ("wartete 1:35", f"Rückruf-Eintrag #{callback_id}")
        else:
            assert heading == f"Callback to {NAME} (+493415550123)"
            assert (waited, item) == ("waited 1:35", f"Callback item #{callback_id}")
        assert page.get_attribute("#ctx-callback-item", "href") == "/calls"
        if ticket_id is None:
            assert page.query_selector("#ctx-callback-ticket") is None  # no ticket: no link
        else:
            assert page.inner_text("#ctx-callback-ticket") == "Open ticket"
            page.evaluate("hc.ticket.open = (id) => { window.__opened = id; }")
            page.click("#ctx-callback-ticket")
            assert page.evaluate("window.__opened") == ticket_id
        assert page.evaluate("window.__xss") is None and page.query_selector("#context img") is None
        ring = page.evaluate("hl.alerts.log.filter((e) => e.sound === 'ring').pop()")
        assert ring["title"] == ("Rückruf an " if lang == "de" else "Callback to ") + f"{NAME} (+493415550123)"
        assert page.evaluate("hl.missing.size") == 0
        # the caller was not reached: the pop goes
        not_reached = ev.CallbackDialed(services.wallboard.clock(), callback_id, "NOANSWER")
        asyncio.run_coroutine_threadsafe(services.bus.publish(not_reached), demo.loop).result(timeout=10)
        page.wait_for_selector("#ctx-callback", state="detached")
        # rung again and the caller picks up: the console shows the conversation, then its end
        again = ev.CallbackRinging(at=services.wallboard.clock(), callback_id=callback_id + 10, agent="PJSIP/1003",
                                   caller_raw="0341 5550123", caller_number="+493415550123", caller_name=NAME,
                                   waited_seconds=95.0, ticket_id=None)
        asyncio.run_coroutine_threadsafe(services.bus.publish(again), demo.loop).result(timeout=10)
        page.wait_for_selector(f"#context[data-linkedid='callback-{callback_id + 10}'][data-phase='ringing']")
        answered = ev.CallbackDialed(services.wallboard.clock(), callback_id + 10, "ANSWER")
        asyncio.run_coroutine_threadsafe(services.bus.publish(answered), demo.loop).result(timeout=10)
        page.wait_for_selector(f"#context[data-linkedid='callback-{callback_id + 10}'][data-phase='talking']")
        assert page.evaluate("window.__xss") is None
        # a reload during the conversation gets it back (the registry knows no call for a callback)
        page.reload()
        page.wait_for_function("document.body.dataset.ws === 'open'")
        page.wait_for_selector(f"#context[data-linkedid='callback-{callback_id + 10}'][data-phase='talking']")
        # the agent's phone is free again: the conversation is over
        free = ev.AgentUpdated(services.wallboard.clock(), ev.AgentSnapshot(
            "PJSIP/1003", "1003", ev.AgentState.AVAILABLE, "", services.wallboard.clock(), ("hotline",), None))
        asyncio.run_coroutine_threadsafe(services.bus.publish(free), demo.loop).result(timeout=10)
        page.wait_for_selector(f"#context[data-linkedid='callback-{callback_id + 10}'][data-phase='ended']")
