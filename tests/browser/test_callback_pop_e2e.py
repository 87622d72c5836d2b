"""The pop of a callback call in the console: "Rückruf an …" / "Callback to …", how long
the caller waited before asking, the callback item (its link opens /calls in a new tab
with that item's row marked, or a note when it is no longer open) and its ticket; the
caller's name shown as text, never as markup; an agent whose phone is at another site is
told that calls will not pop on this site's server. The dispatcher's CallbackRinging is put on
the demo server's bus (no Asterisk: the live callback is tests/integration/test_callback_live.py)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cti import events as ev
from tests.browser.demo_day import NOW, PASSWORD, DemoServer, closing, demo_server, open_as
from tests.db_fixture import db_sessions
from tickets.models import Callback, CallbackStatus, Role
from tickets.users import UserService

pytestmark = [pytest.mark.browser]
NAME = "<img src=x onerror=window.__xss=1>Rita"
SHOWN = "+49\u00a0341\u00a05550123"  # +493415550123 as the console shows it: grouped, never broken


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[DemoServer]:
    with demo_server(module_database_url) as server:
        yield server


@pytest.fixture(scope="module")
def items(demo: DemoServer, module_database_url: str) -> dict[str, int]:
    """Open callback items: 30 that waited longer (listed first), then one per language,
    the item its pop names (at the bottom of the list: the page scrolls to it)."""
    with db_sessions(module_database_url) as sessions, sessions.begin() as s:
        rows = [Callback(caller_number=f"+4934155501{n:02d}", caller_name=f"Wartend {n}",
                         first_call_at=NOW - timedelta(hours=3, minutes=n), last_call_at=NOW - timedelta(hours=3))
                for n in range(30)]
        mine = {lang: Callback(caller_number="+493415550123", caller_raw="0341 5550123", caller_name=NAME,
                               reason="callback", first_call_at=NOW - timedelta(minutes=2), last_call_at=NOW)
                for lang in ("de", "en")}
        s.add_all([*rows, *mine.values()])
        s.flush()
        return {**{lang: item.id for lang, item in mine.items()}, "same_number": rows[23].id}  # +493415550123 too


def _done(url: str, callback_id: int) -> None:
    with db_sessions(url) as sessions, sessions.begin() as s:
        s.get_one(Callback, callback_id).status = CallbackStatus.DONE


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_callback_pop_says_callback_to_the_caller_with_the_wait_item_and_ticket(
        demo: DemoServer, browser: Any, lang: str, tmp_path: Path, items: dict[str, int],
        module_database_url: str) -> None:
    services = demo.app.state.services
    callback_id = items[lang]  # one per language: a pop of its own
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
            assert heading == f"Rückruf an {NAME} ({SHOWN})"
            assert (waited, item) == ("wartete 1:35", f"Rückruf-Eintrag #{callback_id}")
        else:
            assert heading == f"Callback to {NAME} ({SHOWN})"
            assert (waited, item) == ("waited 1:35", f"Callback item #{callback_id}")
        # the caller's past follows as for any pop: the number's other open callback items
        # (the other language's and "Wartend 23", +493415550123 too), never the item being called back
        listed = page.locator("section[aria-labelledby='ctx-callbacks-h'] ul.callbacks li")
        listed.first.wait_for(timeout=10_000)
        shown = page.evaluate("hc.state.ctx.callbacks.map((c) => c.id)")
        assert sorted(shown) == sorted([items["en" if lang == "de" else "de"], items["same_number"]])
        assert listed.count() == 2
        page.screenshot(path=str(tmp_path / f"callback-pop-enriched-{lang}.png"))
        # the item's link: /calls in a new tab (the pop stays), that item's row marked and in view
        assert page.get_attribute("#ctx-callback-item", "href") == f"/calls?view=callbacks&callback={callback_id}"
        with page.expect_popup() as opened:
            page.click("#ctx-callback-item")
        calls = opened.value
        row = calls.wait_for_selector(f"#callbacks tr#callback-{callback_id}.target[aria-current='true']")
        assert calls.locator("#callbacks tr.target").count() == 1 and calls.locator("#callbacks tbody tr").count() >= 32
        assert NAME in row.inner_text() and calls.query_selector(f"#callback-{callback_id} [data-call]") is not None
        assert calls.evaluate("document.activeElement.id") == f"callback-{callback_id}"
        assert calls.evaluate(f"""(() => {{ const r = document.getElementById('callback-{callback_id}')
            .getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }})()""")  # scrolled to
        background = "(sel) => getComputedStyle(document.querySelector(sel)).backgroundColor"
        assert calls.evaluate(background, "tr.target td") != calls.evaluate(background, "tbody tr:not(.target) td")
        calls.screenshot(path=str(tmp_path / f"callback-item-{lang}.png"))
        if lang == "en":  # done meanwhile: no row is marked, a note says so
            _done(module_database_url, callback_id)
            calls.reload()
            note = calls.wait_for_selector("#callback-gone")
            assert note.inner_text() == f"Callback item #{callback_id} is no longer open (done or called back)."
            assert calls.query_selector("#callbacks tr.target") is None
        assert calls.evaluate("hl.missing.size") == 0 and calls.evaluate("window.__xss") is None
        calls.close()
        if ticket_id is None:
            assert page.query_selector("#ctx-callback-ticket") is None  # no ticket: no link
        else:
            assert page.inner_text("#ctx-callback-ticket") == "Open ticket"
            page.evaluate("hc.ticket.open = (id) => { window.__opened = id; }")
            page.click("#ctx-callback-ticket")
            assert page.evaluate("window.__opened") == ticket_id
        assert page.evaluate("window.__xss") is None and page.query_selector("#context img") is None
        ring = page.evaluate("hl.alerts.log.filter((e) => e.sound === 'ring').pop()")
        assert ring["title"] == ("Rückruf an " if lang == "de" else "Callback to ") + f"{NAME} ({SHOWN})"
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


@pytest.mark.parametrize("lang", ["de", "en"])
def test_an_agent_of_another_site_is_told_calls_will_not_pop_here(demo: DemoServer, browser: Any, lang: str,
                                                                  module_database_url: str) -> None:
    """Berit's phone is site b's PJSIP/1003; this server follows site main, whose PJSIP/1003
    is cem's. Her console says so, in her language, instead of never popping, and shows none
    of this site's phone state or tools (agent_console/site_phone.py refuses them anyway)."""
    with db_sessions(module_database_url) as sessions:
        users = UserService(sessions)
        if "berit" not in {u.username for u in users.all()}:
            users.add("berit", PASSWORD, Role.AGENT, "PJSIP/1003", display_name="Berit Berg", site="b")
    with closing(open_as(browser, demo, "berit", lang, "/console")) as page:
        page.wait_for_function("document.body.dataset.ws === 'open'")
        note = page.wait_for_selector("#site-notice:not([hidden])")
        text = note.inner_text()
        assert text == page.evaluate("hl.t('console.phone_elsewhere', "
                                     "{server_site: 'main', phone_site: 'b', endpoint: 'PJSIP/1003'})")
        assert text.startswith("Dieser Server folgt dem Standort main" if lang == "de"
                               else "This server follows site main"), text
        assert "PJSIP/1003" in text and (" Standort b." in text if lang == "de" else " site b." in text)
        # no phone state or tools of this site's that are not hers (the API refuses them: test_site_phones)
        for hidden in ("#pause", "#qlogin", "#dial", "#agent-state", "#idle"):
            assert page.locator(hidden).is_hidden(), hidden
        assert page.evaluate("hl.missing.size") == 0
    with closing(open_as(browser, demo, "cem", lang, "/console")) as page:  # main's PJSIP/1003: no notice
        page.wait_for_function("document.body.dataset.ws === 'open'")
        assert page.locator("#site-notice").is_hidden()
