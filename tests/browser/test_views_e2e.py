"""The work pages in Chromium (issue 12 "Views"): /tickets with views, filters and
full-text search, /tickets/{id}, /customers and a profile, /calls with callbacks;
the shared header; axe-core without serious violations and no raw enum or missing
text in German and English (Berlin time); screenshots for the README. The last
test uses the real Asterisk: an abandoned call becomes a callback and "call back"
rings the agent's phone and then dials the caller's number.

The page tests run on tests/browser/demo_day's server (AMI off) seeded here with a
help desk's tickets, calls and callbacks through the services' own APIs.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cti import events as ev
from tests.browser import demo_day
from tests.browser.axe import assert_no_serious_violations
from tests.browser.demo_day import DemoServer, add_users, demo_server
from tests.browser.shots import shot
from tests.factories import HOSTILE_NAME, add_contact, answered_call, gave_up
from tests.pbx_fixture import Pbx, free_tcp_port, running_pbx
from tests.serve_process import serve
from tickets.calls_service import TicketService

pytestmark = [pytest.mark.browser]
RAW = ["on_call", "after_hours", "PJSIP/", "None", "null", "undefined", "NaN", "ticket_status.", "priority.",
       "outcome.", "T0", "Z "]
RAW_DE = ["critical", "abandoned", "answered", "open", "new"]  # English enum values on a German page
PAGES = {"tickets": "/tickets?view=mine", "calls": "/calls", "customers": "/customers?q=Stadtwerke"}


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[DemoServer]:
    with demo_server(module_database_url) as server:
        seed(server)
        yield server


def seed(server: DemoServer) -> None:
    """Erika (Stadtwerke Leipzig) with two calls of anna's and their tickets, tickets of
    anna's own, one of bert's (anna must not see it), and two callers who gave up."""
    s = server.app.state.services
    erika = s.customers.create("Erika Muster", organization="Stadtwerke Leipzig", phones=("0341 2538-5588",),
                               email="erika@example.org", team="Kommunen")["id"]
    add_contact(s.desk.sessions, "Jan Novák", "+4930901820")
    recorder = TicketService(s.desk.sessions, policy=s.desk.policy)
    start = datetime.now(UTC) - timedelta(hours=3)
    # the first call was routed to Erika's focus team, moved up for an open critical ticket
    # and Jan's (no focus team, English) to the agents of no focus team who speak English
    routes = (ev.CallRoute("team", "Kommunen", "de", 10, "critical_ticket"), None,
              ev.CallRoute("generalists", "", "en", 0))
    for i, number in enumerate(("+4934125385588", "+4934125385588", "+4930901820")):
        for update in answered_call(number, agent="PJSIP/1001", entered_at=start + timedelta(minutes=20 * i),
                                    wait=8 + 9 * i, talk=240 + 60 * i, route=routes[i]):
            recorder.handle(update)
    s.desk.create("Drucker im 2. OG druckt nicht", "anna", contact_id=erika, priority="high",
                  description="Papierstau, Fach 2 klemmt.")
    vpn = s.desk.create("VPN bricht nach dem Update ab", "anna", priority="critical",
                        description="Seit dem Client-Update alle 10 min.")
    s.desk.escalate(vpn["id"], 2, "Netzwerkteam", "anna")
    s.desk.create("Bert's own: Gehaltsabrechnung", "bert", description="vertraulich")
    recorder.handle(gave_up("+4934125385588", start + timedelta(hours=1)))
    recorder.handle(gave_up("+4940123456", start + timedelta(hours=2), wait=75))


def open_as(browser: Any, demo: Any, user: str, lang: str, path: str,
            size: tuple[int, int] = (1366, 900)) -> Any:
    """demo_day.open_as, once the page has drawn its data."""
    return demo_day.open_as(browser, demo, user, lang, path, size, ready=True)


def text(page: Any) -> str:
    return str(page.evaluate("document.body.innerText"))


@pytest.mark.parametrize("name", sorted(PAGES))
@pytest.mark.parametrize("lang", ["de", "en"])
def test_each_page_in_both_languages(demo: DemoServer, browser: Any, name: str, lang: str) -> None:
    page = open_as(browser, demo, "anna", lang, PAGES[name])
    try:
        page.wait_for_selector("[data-list] table")
        assert_no_serious_violations(page, f"{name} ({lang})")
        assert page.evaluate("hl.missing.size") == 0, page.evaluate("[...hl.missing]")
        body = text(page)
        raw = [r for r in RAW + (RAW_DE if lang == "de" else []) if re.search(rf"\b{re.escape(r)}", body)]
        assert raw == [], raw
        assert page.get_attribute(f"nav.site a[href='/{name}']", "aria-current") == "page"
        assert page.is_hidden("nav.site a[href='/wallboard']")  # agents have no wallboard
        page.screenshot(path=shot(f"{name}-{lang}.png"), full_page=True)
    finally:
        page.context.close()


def test_ticket_views_search_and_detail(demo: DemoServer, browser: Any) -> None:
    page = open_as(browser, demo, "anna", "de", "/tickets?view=mine")
    try:
        rows = page.locator("#results tbody tr")
        page.wait_for_selector("#results tbody tr")
        assert rows.count() == 5  # three from her calls, two of her own; not bert's
        assert "Gehaltsabrechnung" not in text(page)
        page.fill("#f-q", "papierstau fach")
        page.click("#filters button[type=submit]")
        page.wait_for_url(re.compile(r"q=papierstau\+fach"))
        page.wait_for_selector("body[data-ready='1']")
        assert rows.count() == 1 and "Drucker im 2. OG" in rows.first.inner_text()
        page.goto(demo.url + "/tickets?view=escalated")
        page.wait_for_selector("#results tbody tr")
        assert rows.count() == 1 and "kritisch" in rows.first.inner_text()  # translated priority
        rows.first.locator("a").click()
        page.wait_for_url(re.compile(r"/tickets/\d+$"))
        page.wait_for_selector("#history table")
        # the field "level" in the history, translated
        assert "Netzwerkteam" in page.inner_text("#history") and "Level" in page.inner_text("#history")
        page.goto(demo.url + "/tickets?view=all&number=0341%202538-5588")
        page.wait_for_selector("#results tbody tr")
        assert rows.count() == 3  # two calls' tickets and the printer ticket, found by Erika's number
        assert page.input_value("#f-number") == "0341 2538-5588"
        bert_only = page.evaluate("fetch('/api/tickets?view=all&q=Gehaltsabrechnung').then(r => r.json())")
        assert bert_only == []
    finally:
        page.context.close()


def test_customer_search_and_profile(demo: DemoServer, browser: Any) -> None:
    page = open_as(browser, demo, "anna", "en", "/customers")
    try:
        page.fill("#f-q", "0341 2538-5588")
        page.click("#search button[type=submit]")
        page.wait_for_selector("#results tbody tr")
        page.click("#results tbody tr a")
        page.wait_for_url(re.compile(r"/customers/\d+$"))
        page.wait_for_selector("#recent table")
        assert page.inner_text("#customer-h") == "Erika Muster"
        assert "Stadtwerke Leipzig" in page.inner_text("#facts")
        assert page.locator("#recent tbody tr").count() == 2  # her two answered calls, not the abandoned one
        assert page.locator("#open tbody tr").count() >= 2
    finally:
        page.context.close()


def test_callbacks_are_shown_and_closed(demo: DemoServer, browser: Any) -> None:
    page = open_as(browser, demo, "anna", "de", "/calls")
    try:
        page.wait_for_selector("#callbacks tbody tr")
        before = page.locator("#callbacks tbody tr").count()
        assert before == 2
        assert "+49\u00a040\u00a0123456" in page.inner_text("#callbacks")  # grouped as people read it, never broken
        # the caller's name, as text
        assert page.get_attribute("#callbacks tbody tr:last-child button[data-done]", "aria-label") \
            == f"Rückruf an {HOSTILE_NAME} (+49\u00a040\u00a0123456) als erledigt markieren"
        page.click("#callbacks tbody tr:last-child button[data-done]")
        page.wait_for_function("document.querySelectorAll('#callbacks tbody tr').length === 1")
        assert "erledigt" in page.inner_text("#status")
        page.click("#views a[data-view=log]")
        page.wait_for_selector("#log tbody tr")
        assert page.locator("#log tbody tr").count() == 3  # her own three calls
        assert "angenommen" in page.inner_text("#log")
        # which route each call took and why; a dash where hotline did not route it
        routes = page.locator("#log tbody tr td:nth-child(7)").all_inner_texts()
        routed = "Fokusteam Kommunen · Deutsch · offenes kritisches Ticket, vorgezogen"
        generalists = "bekannt, ohne Fokusteam: Generalisten seiner Sprache · Englisch"
        assert sorted(routes) == sorted([NONE, generalists, routed])
    finally:
        page.context.close()


NONE = "\u2013"  # what a list shows for "not known"
EXTERNAL = "0341 2538-4444"  # the caller; E.164 +4934125384444
DIAL_ALLOW = "10XX,5555,+49X."  # this test's site may call German numbers back (the PBX's and the app's list)


@pytest.fixture(scope="module")
def callback_pbx() -> Iterator[Pbx]:
    """A private Asterisk whose `agents` context lets +49 numbers out to the trunk (the
    session's PBX keeps the default allow-list, which reaches no external number)."""
    with running_pbx(f"views-{os.getpid()}", dial_allow=DIAL_ALLOW) as found:
        yield found


@pytest.fixture(scope="module")
def live(callback_pbx: Pbx, module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    add_users(module_database_url)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    port = free_tcp_port()
    try:
        with serve(callback_pbx, module_database_url, port, secrets.token_urlsafe(24), log,
                   HOTLINE_DIAL_ALLOW=DIAL_ALLOW):
            yield type("Live", (), {"url": f"http://127.0.0.1:{port}"})()
    finally:
        print("--- hotline serve log ---\n" + log.read_text(errors="replace")[-3000:])


@pytest.mark.asterisk
def test_an_abandoned_call_becomes_a_callback_and_call_back_dials_the_caller(
        callback_pbx: Pbx, live: Any, browser: Any) -> None:
    pbx = callback_pbx
    with pbx.phone("1001", answer_after=1.0):
        # anna paused, no other phone registered: the caller waits and gives up after 6 s
        pbx.cli("queue pause member PJSIP/1001 queue hotline reason callback-test")
        try:
            pbx.place_call(EXTERNAL, name="Erika Rückruf", duration=6)
            pbx.tap.wait_for(lambda e: e.get("Event") == "QueueCallerAbandon", timeout=20)
        finally:
            pbx.cli("queue unpause member PJSIP/1001 queue hotline")
        page = open_as(browser, live, "anna", "de", "/calls")
        try:
            row = page.locator("#callbacks tbody tr", has_text="+49 341 25384444")
            row.wait_for(timeout=15_000)  # the call record and its callback are written after the hangup
            assert "aufgelegt" in row.inner_text()
            mark = pbx.tap.mark()
            row.locator("button[data-call]").click()
            # Asterisk rings anna's phone (the Originate) and, once she answers, dials the caller
            pbx.tap.wait_for(lambda e: e.get("Event") == "OriginateResponse" and e.get("Response") == "Success"
                             and e.get("Exten") == "+4934125384444", timeout=20)
            dial = pbx.tap.wait_for(lambda e: e.get("Event") == "DialBegin"
                                    and "+4934125384444" in e.get("DialString", ""), timeout=20)
            assert dial["DialString"] == "+4934125384444@trunk" and pbx.tap.mark() > mark
            row.wait_for(state="detached")  # closed: gone from the open callbacks
            assert "klingelt" in page.inner_text("#status")
        finally:
            page.context.close()
            pbx.cli("channel request hangup all")
            pbx.end_calls()  # the SIPp caller reaped (the autouse fixture does it for `pbx` only)
