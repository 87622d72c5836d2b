"""The wallboard with a day behind it (tests/browser/demo_day.py; no Asterisk needed):
TV mode never scrolls, the laptop layout shows the chart, the chart draws gaps and no
"no data as 100 %", every text is translated and local time, accessibility has no
serious violations, an agent gets a friendly page, a 422 lands beside its field, and
a lost session goes to the login page keeping drafts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.axe import assert_no_serious_violations
from tests.browser.demo_day import BERLIN, PASSWORD, VIEWS, DemoServer, closing, demo_server, open_wallboard
from tests.browser.shots import shot
from tests.db_fixture import throwaway_database

pytestmark = [pytest.mark.browser]
# values the server sends that must never reach a page as they are
RAW = ["on_call", "wrap_up", "logged_out", "after_hours", "wrap-up", "backoffice", "lunch", "PJSIP/", "None",
       "null", "undefined", "NaN"]


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[DemoServer]:
    with demo_server(module_database_url) as server:
        yield server


def page_text(page: Any) -> str:
    return str(page.evaluate("document.body.innerText"))


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("lang", ["de", "en"])
def test_tv_mode_never_scrolls_and_the_laptop_layout_shows_the_chart(
        demo: DemoServer, browser: Any, view: str, lang: str, tmp_path: Path) -> None:
    size, tv = VIEWS[view]
    with closing(open_wallboard(browser, demo, lang, size, tv)) as page:
        page.screenshot(path=shot(f"wallboard-{view}-{lang}.png"))  # the README's pictures
        box = page.evaluate("""() => { const r = document.getElementById('chart-box').getBoundingClientRect();
            const s = document.scrollingElement;
            return { top: r.top, bottom: r.bottom, height: r.height, vh: innerHeight, vw: innerWidth,
                     sh: s.scrollHeight, sw: s.scrollWidth }; }""")
        assert box["height"] >= 200, box  # a chart, not a sliver
        # every figure fits its tile (no number running into the next tile) and no label
        # word is broken inside ("Serviceleve|l")
        spill = page.evaluate("""() => [...document.querySelectorAll('.tiles .tile')].filter((t) => !t.hidden)
            .flatMap((t) => [t, ...t.querySelectorAll('.value, .label')]
              .filter((n) => n.scrollWidth > n.clientWidth + 1)
              .map((n) => `${n.className}: ${n.textContent.trim()} (${n.scrollWidth} > ${n.clientWidth})`))""")
        assert spill == [], spill
        broken = page.evaluate(r"""() => [...document.querySelectorAll('.tiles .tile .label')].flatMap((l) =>
            l.textContent.trim().split(/\s+/).filter((word) => {
              const probe = document.createElement('span');
              probe.style.whiteSpace = 'nowrap'; probe.textContent = word; l.append(probe);
              const wide = probe.getBoundingClientRect().width > l.clientWidth + 1; probe.remove(); return wide; }))""")
        assert broken == [], broken
        assert box["bottom"] <= box["vh"], box  # in view without scrolling
        if tv:
            assert box["sh"] <= box["vh"] and box["sw"] <= box["vw"], box  # nothing to scroll
            assert page.evaluate("getComputedStyle(document.body).overflow") == "hidden"
            # what is cut to fit is said, and nothing cut is lost from the count
            shown = page.evaluate("document.querySelectorAll('#agents li.agent:not([hidden])').length")
            more = page.evaluate("document.querySelector('#agents li.more')?.textContent || ''")
            assert shown >= 4 and (shown == 6 or more), (shown, more)
        assert page.evaluate("hl.missing.size") == 0


def test_the_chart_has_time_axes_a_legend_and_draws_gaps(demo: DemoServer, browser: Any) -> None:
    with closing(open_wallboard(browser, demo, "de", (1920, 1080), True)) as page:
        labels = page.evaluate("JSON.parse(document.getElementById('chart-box').dataset.xLabels)")
        assert len(labels) >= 3 and all(len(x) == 5 and x[2] == ":" for x in labels), labels
        assert min(labels) >= "07:00" and max(labels) <= "14:30", labels  # Berlin time (UTC would show 06:00)
        assert int(page.get_attribute("#chart-box", "data-gaps") or 0) >= 1  # no samples 11:50-12:10
        assert page.inner_text(".legend") .split("\n") == ["Wartende Anrufe", "Servicelevel"]
        # before the first call of the day was offered SL has no value: drawn as nothing, not 100 %
        first = page.evaluate("wbModel.chart(wb.series, null).data[2][0]")
        assert page.evaluate("wb.series[0].service_level") is None and first is None
        assert page.get_attribute("#chart-box", "aria-label").startswith("Wartende und Servicelevel heute.")


def test_the_first_minutes_of_a_day_have_time_labels_that_differ(demo: DemoServer, browser: Any) -> None:
    """Right after the start (a few minutes of samples) the ticks are seconds apart: they
    read 09:58, 09:58, 09:58, 09:59 until labels got their seconds."""
    with closing(open_wallboard(browser, demo, "en", (1440, 900), False)) as page:
        page.evaluate("""() => {  // the day's samples so far: 2.5 minutes of them, up to the server's now
            const t0 = hl.live.serverNow() - 150_000;
            wb.series = [...Array(16).keys()].map((i) => (
                {at: new Date(t0 + i * 10_000).toISOString(), waiting: i % 3, service_level: 1})); }""")
        page.wait_for_function("!document.getElementById('chart-box').dataset.xLabels.includes('08:00')")
        labels = page.evaluate("JSON.parse(document.getElementById('chart-box').dataset.xLabels)")
        assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
        assert all(len(x) == 8 and x[2] == x[5] == ":" for x in labels), labels  # hh:mm:ss


@pytest.mark.parametrize("lang", ["de", "en"])
def test_no_raw_enum_and_no_utc_time_in_either_language(demo: DemoServer, browser: Any, lang: str) -> None:
    with closing(open_wallboard(browser, demo, lang, (1920, 1080), False)) as page:
        text = page_text(page)
        assert [raw for raw in RAW if raw in text] == []
        assert page.evaluate("hl.missing.size") == 0, page.evaluate("[...hl.missing]")
        # the server's clock (13:25 UTC and on): a page in Berlin shows it an hour later, as 14:25
        shown, server_ms = page.evaluate("[document.getElementById('clock').textContent, hl.live.serverNow()]")
        berlin = datetime.fromtimestamp(server_ms / 1000, BERLIN)
        assert shown in {(berlin - timedelta(seconds=d)).strftime("%H:%M:%S") for d in (0, 1)}, (shown, berlin)
        assert berlin.hour != datetime.fromtimestamp(server_ms / 1000, UTC).hour
        names = page.evaluate("[...document.querySelectorAll('#agents .agent-name')].map((n) => n.textContent)")
        assert "Bert Krüger" in names and "bert" not in names  # display names, not member names
        bert = page.inner_text("#agents li[data-agent='PJSIP/1002'] .badge")
        assert bert == {"de": "Pause \u2013 Mittag", "en": "paused \u2013 Lunch"}[lang]
        banner = {"de": r"\d Anrufer warten? länger als 25 s", "en": r"\d callers? ha(s|ve) waited longer than 25 s"}
        assert re.match(banner[lang], page.inner_text("#banner")), page.inner_text("#banner")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_axe_finds_nothing_serious_on_login_and_wallboard(demo: DemoServer, browser: Any, lang: str) -> None:
    context = browser.new_context(bypass_csp=True, locale="de-DE" if lang == "de" else "en-GB",
                                  timezone_id="Europe/Berlin")
    context.add_init_script(f"localStorage.setItem('hotline.lang', '{lang}')")
    login = context.new_page()
    login.goto(demo.url + "/")
    assert_no_serious_violations(login, f"login ({lang})")
    context.close()
    for size, tv in ((1366, 768), False), ((1920, 1080), True):
        with closing(open_wallboard(browser, demo, lang, size, tv)) as page:
            assert_no_serious_violations(page, f"wallboard ({lang}, tv={tv})")


def _login(browser: Any, demo: DemoServer, username: str, lang: str = "de") -> Any:
    context = browser.new_context(bypass_csp=True, locale="de-DE", timezone_id="Europe/Berlin")
    context.add_init_script(f"localStorage.setItem('hotline.lang', '{lang}')")
    page = context.new_page()
    page.goto(demo.url + "/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    return page


@pytest.mark.parametrize("lang", ["de", "en"])
def test_an_agent_opening_the_wallboard_gets_a_friendly_page(demo: DemoServer, browser: Any, lang: str) -> None:
    page = _login(browser, demo, "anna", lang)
    try:
        page.wait_for_url("**/console")
        page.goto(demo.url + "/wallboard")
        page.wait_for_selector("#not-allowed:not([hidden])")
        text = page_text(page)
        assert "403" not in text and "supervisors only" not in text
        assert page.inner_text("#not-allowed h2") == {"de": "Das Wallboard ist für Supervisoren",
                                                      "en": "The wallboard is for supervisors"}[lang]
        assert page.get_attribute("#not-allowed a", "href") == "/console"
        assert page.is_hidden("#board")
        assert_no_serious_violations(page, f"friendly page ({lang})")
    finally:
        page.context.close()


def test_a_422_is_shown_beside_its_field_translated_and_cleared(demo: DemoServer, browser: Any) -> None:
    context = browser.new_context(bypass_csp=True, locale="de-DE")
    context.add_init_script("localStorage.setItem('hotline.lang', 'de')")
    page = context.new_page()
    try:
        page.goto(demo.url + "/")
        page.fill("#username", "x" * 65)
        page.fill("#password", "whatever-1")
        page.click("button[type=submit]")
        page.wait_for_selector("label:has(#username) .field-error")
        assert page.inner_text("label:has(#username) .field-error") == "Höchstens 64 Zeichen"
        assert page.get_attribute("#username", "aria-invalid") == "true"
        assert page.inner_text("#error") == "Bitte prüfen Sie die markierten Felder."
        page.fill("#username", "sven")
        page.fill("#password", "wrong-password")
        page.click("button[type=submit]")
        page.wait_for_function("document.getElementById('error').textContent === 'Benutzername oder Passwort falsch'")
        assert page.query_selector(".field-error") is None and page.get_attribute("#username", "aria-invalid") is None
    finally:
        context.close()


def test_a_401_sends_the_page_to_login_with_its_drafts_kept_and_back(demo: DemoServer, browser: Any) -> None:
    page = _login(browser, demo, "sven")
    try:
        page.wait_for_url("**/wallboard")
        page.wait_for_function("document.body.dataset.ws === 'open'")
        page.evaluate("hl.session.onLeave(() => { hl.drafts.save('note', 'half a sentence'); return true; })")
        page.context.clear_cookies()  # the session is gone (expired, revoked, logged out elsewhere)
        # fired, not awaited: the 401 navigates to the login page, which may come before the
        # request's promise settles (awaiting it then fails with "execution context destroyed")
        page.evaluate("() => { hl.api('GET', '/api/queues').catch(() => {}); }")
        page.wait_for_url("**/?expired=1&drafts=1&next=%2Fwallboard")
        assert page.evaluate("hl.drafts.take('note')") == "half a sentence"
        assert "Sitzung ist abgelaufen" in page.inner_text("#expired")
        page.fill("#username", "sven")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/wallboard")  # back where the user was
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_todays_caller_satisfaction_is_shown_and_follows_new_answers(demo: DemoServer, browser: Any,
                                                                    lang: str, tmp_path: Path) -> None:
    """The CSAT tile: today's mean survey answer and how many, then a pushed answer."""
    from agent_console.hub import SUPERVISORS_ONLY
    from tests.browser.demo_day import RATINGS

    with closing(open_wallboard(browser, demo, lang, (1366, 768), False)) as page:
        mean = sum(RATINGS) / len(RATINGS)
        shown = f"{mean:.1f}".replace(".", "," if lang == "de" else ".")
        page.wait_for_function(f"document.getElementById('csat').textContent === '{shown}'")
        count = page.evaluate("document.getElementById('csat-count').textContent")
        assert count == (f"heute {len(RATINGS)} Bewertungen" if lang == "de" else f"{len(RATINGS)} ratings today")
        page.screenshot(path=str(tmp_path / f"csat-{lang}.png"))
        hub = demo.app.state.services.hub  # a survey answer as the FastAGI script pushes it
        data = {"ticket_id": 1, "csat": 1, "today": {"average": 3.5, "count": 13}}
        demo.loop.call_soon_threadsafe(hub.publish, "survey.answered", data, SUPERVISORS_ONLY)
        page.wait_for_function("document.getElementById('csat').textContent.startsWith('3')")
        assert "13" in page.evaluate("document.getElementById('csat-count').textContent")
        assert page.evaluate("hl.missing.size") == 0



@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_ticket_page_shows_the_callers_rating(demo: DemoServer, browser: Any, lang: str) -> None:
    from tests.browser.demo_day import RATINGS

    with closing(open_wallboard(browser, demo, lang, (1366, 768), False)) as page:
        page.goto(demo.url + "/tickets/1")
        page.wait_for_function("document.getElementById('facts').children.length > 0")
        facts = page.evaluate("document.getElementById('facts').innerText")
        label = "Zufriedenheit des Anrufers (1\N{EN DASH}5)" if lang == "de" else "Caller satisfaction (1\N{EN DASH}5)"
        assert f"{label}\n{RATINGS[0]} / 5" in facts, facts
        assert page.evaluate("hl.missing.size") == 0


@pytest.mark.parametrize("lang", ["de", "en"])
def test_callbacks_waiting_show_under_the_waiting_count_with_the_oldest_wait(demo: DemoServer, browser: Any,
                                                                             lang: str) -> None:
    """The callback dispatcher's CallbacksWaiting (pending and dialling virtual places) on the
    bus: the waiting tile says how many and how long the oldest one's caller has waited,
    counting up; none: nothing."""
    import asyncio

    from tickets.events import CallbacksWaiting

    services = demo.app.state.services

    def publish(event: CallbacksWaiting) -> None:
        asyncio.run_coroutine_threadsafe(services.bus.publish(event), demo.loop).result(timeout=10)

    with closing(open_wallboard(browser, demo, lang, (1366, 768), False)) as page:
        queue = page.evaluate("wb.queue.name")
        publish(CallbacksWaiting(queue, 2, services.wallboard.clock() - timedelta(seconds=95)))
        page.wait_for_function("document.getElementById('callbacks-waiting').dataset.count === '2'")
        text = page.evaluate("document.getElementById('callbacks-waiting').textContent")
        expected = r"\+ 2 Rückrufe, ältester seit 1:3\d" if lang == "de" else r"\+ 2 callbacks, oldest waiting 1:3\d"
        assert re.fullmatch(expected, text), text
        page.wait_for_function(f"document.getElementById('callbacks-waiting').textContent !== {text!r}")  # ticks
        publish(CallbacksWaiting(queue, 0, None))
        page.wait_for_function("document.getElementById('callbacks-waiting').textContent === ''")
        assert page.evaluate("hl.missing.size") == 0


@pytest.fixture(scope="module")
def demo_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo day with two more sites on the board: east up, west down (demo_day.add_sites);
    a database of its own (not shared with `demo`'s server running beside it)."""
    with throwaway_database(tmp_path_factory.mktemp("sites-db")) as url, demo_server(url, sites=True) as server:
        yield server


SITES_TEXT = {"de": ("Virtuelle Hotline", "in Betrieb", "AUSGEFALLEN", "Bridge meldet sich nicht",
                     "ohne west (ausgefallen)", "Werte veraltet, Stand"),
              "en": ("Virtual hotline", "up", "DOWN", "bridge silent", "without west (down)", "figures stale, as of")}


@pytest.mark.parametrize("view", ["laptop-1366", "tv-1920"])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_wallboard_shows_every_site_and_the_virtual_hotline_and_a_down_site_in_words(
        demo_sites: DemoServer, browser: Any, lang: str, view: str, tmp_path: Path) -> None:
    size, tv = VIEWS[view]
    virtual, up, down, silent, missing, stale = SITES_TEXT[lang]
    with closing(open_wallboard(browser, demo_sites, lang, size, tv)) as page:
        page.wait_for_selector("#sites:not([hidden]) tr[data-site='west']")
        page.screenshot(path=str(tmp_path / f"sites-{view}-{lang}.png"))
        rows = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#sites-table tbody tr')]
            .map((tr) => [tr.dataset.site, [...tr.children].map((c) => c.innerText.replace(/\\s+/g, ' ').trim())]))""")
        assert list(rows) == ["*", "east", "main", "west"]
        assert rows["*"][:3] == [virtual, missing, "5"]  # main's 3 + east's 2; west is down: left out and named
        assert rows["east"][1:3] == [up, "2"] and rows["main"][1:3] == [up, "3"]
        assert rows["west"][1].startswith(down) and silent in rows["west"][1] and stale in rows["west"][1]
        assert re.search(r"14:22:0\d", rows["west"][1])  # when its figures were last live (Berlin time)
        assert rows["west"][2] == "1"  # its last number, not zero ...
        stale_cells = page.evaluate("[...document.querySelectorAll('#sites-table tr.down td.stale')].length")
        assert stale_cells == 3  # ... marked stale
        # the live totals are the sum of the sites that are up
        assert rows["*"][4] == ("2 von 7" if lang == "de" else "2 of 7")
        # the own site's row counts the same calls as the tiles above it
        assert rows["main"][-1] == page.inner_text("#answered").replace(" ", "").replace("/", " / ")
        board = page.evaluate("fetch('/api/sites').then((r) => r.json())")
        up_rows = [r for r in board["sites"] if r["state"] == "up"]
        assert board["total"]["waiting_count"] == sum(r["waiting_count"] for r in up_rows) == 5
        assert board["total"]["today"]["offered"] == sum(r["today"]["offered"] for r in board["sites"])
        box = page.evaluate("""() => { const s = document.scrollingElement, t = document.getElementById('sites-table');
            return { sw: s.scrollWidth, vw: innerWidth, sh: s.scrollHeight, vh: innerHeight,
                     right: t.getBoundingClientRect().right }; }""")
        assert box["sw"] <= box["vw"] and box["right"] <= box["vw"], box  # readable: nothing cut on the right
        if tv:
            assert box["sh"] <= box["vh"], box  # the TV never scrolls
            # ... and with the sites table it still shows the waiting callers and the agents,
            # not only "and 6 more" (the board's type is a step smaller with several sites)
            shown = page.evaluate("""() => [document.querySelectorAll('#agents li.agent:not([hidden])').length,
                document.querySelectorAll('#waiting tbody tr:not(.more):not([hidden])').length]""")
            assert shown == [6, 3], shown
        assert page.evaluate("hl.missing.size") == 0
        text = page_text(page)
        for raw in ("bridge_silent", "pbx_disconnected", "undefined", "null", "NaN"):
            assert raw not in text


def test_an_agent_gets_no_sites_board(demo_sites: DemoServer) -> None:
    import httpx

    with httpx.Client(base_url=demo_sites.url, headers={"Origin": demo_sites.url}) as c:
        assert c.get("/api/sites").status_code == 401
        assert c.post("/api/session", json={"username": "anna", "password": PASSWORD}).status_code == 200
        assert c.get("/api/sites").status_code == 403
