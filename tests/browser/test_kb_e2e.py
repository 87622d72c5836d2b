"""The knowledge-base page in Chromium: search by stem in both languages, the article as the
server's sanitised HTML (XSS typed into the editor stays text), the editor's server preview,
versions, the search in the address, no CSP violation, and axe-core in German and English.

A real app (AMI off, tests.browser.demo_day's server) with the demo articles; no Asterisk.
    python -m tests.browser.test_kb_e2e docs/screenshots   # writes kb-de.png and kb-en.png
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.browser.axe import assert_no_serious_violations
from tests.browser.demo_day import PASSWORD, DemoServer, demo_server, shoot_pages
from tickets.db import make_engine, session_factory
from tickets.kb_demo import seed_kb_demo

pytestmark = [pytest.mark.browser]
WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective));"""
XSS = ('<img src=x onerror="document.body.dataset.pwned=1">\n\n<script>document.body.dataset.pwned=1</script>\n\n'
       '[click me](javascript:document.body.dataset.pwned=1) and **bold**')


@contextlib.contextmanager
def kb_server(database_url: str) -> Iterator[DemoServer]:
    engine = make_engine(database_url)
    try:
        seed_kb_demo(session_factory(engine))
    finally:
        engine.dispose()
    with demo_server(database_url) as server:
        yield server


@pytest.fixture(scope="module")
def server(module_database_url: str) -> Iterator[DemoServer]:
    with kb_server(module_database_url) as served:
        yield served


def open_kb(browser: Any, server: DemoServer, lang: str, path: str = "/kb", user: str = "anna",
            bypass_csp: bool = False) -> Any:
    """`user` logged in through the login form, sent on to `path`, in `lang` and Berlin time.
    bypass_csp only for axe-core (injected as an inline script)."""
    context = browser.new_context(bypass_csp=bypass_csp, locale="de-DE" if lang == "de" else "en-GB",
                                  timezone_id="Europe/Berlin", viewport={"width": 1366, "height": 900})
    context.add_init_script(f"localStorage.setItem('hotline.lang', '{lang}')")
    context.add_init_script(WATCH)
    page = context.new_page()
    page.goto(f"{server.url}/?next={quote(path, safe='')}")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/kb**")
    page.wait_for_selector("body[data-ready=true]")
    return page


def search(page: Any, query: str) -> list[str]:
    page.fill("#q", query)
    page.click("#search button[type=submit]")
    page.wait_for_selector(f"#results-count:has-text('{'Treffer' if page.evaluate('hl.lang') == 'de' else 'result'}')")
    return [str(x) for x in page.locator("#hits .hit-title").all_inner_texts()]


def clean(page: Any) -> None:
    assert page.evaluate("window.__violations") == []  # the page works under the CSP
    assert page.evaluate("hl.missing.size") == 0, page.evaluate("[...hl.missing]")  # every string translated


@pytest.mark.parametrize(("lang", "query", "title"), [
    ("de", "Zurücksetzen des Passworts", "Passwort zurücksetzen"),
    ("en", "reset password", "Reset a password"),
])
def test_search_by_stem_and_open_the_article(server: DemoServer, browser: Any, lang: str, query: str,
                                             title: str) -> None:
    page = open_kb(browser, server, lang)
    try:
        assert search(page, query)[0] == title
        assert "q=" in page.url  # the search is in the address: reloading shows it again
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert page.locator("#hits .hit-title").first.inner_text() == title
        assert page.locator("#hits .snippet").first.inner_text()
        page.locator("#hits .hit-title").first.click()
        page.wait_for_selector("#a-body ol li strong")  # Markdown rendered (list, bold)
        assert page.inner_text("#a-title") == title
        clean(page)
    finally:
        page.context.close()


def test_what_an_editor_types_stays_text_and_every_save_is_a_version(server: DemoServer, browser: Any) -> None:
    page = open_kb(browser, server, "en")
    try:
        page.click("#new")
        assert page.is_disabled("#e-visibility option[value=customer]")  # agents write internal articles
        page.fill("#e-title", "XSS probe")
        page.fill("#e-category", "Test")
        page.fill("#e-tags", "probe, test")
        page.fill("#e-body", XSS)
        page.click("#preview")
        page.wait_for_selector("#preview-body strong")
        page.click("#editor button[type=submit]")
        page.wait_for_selector("#article:not([hidden]) #a-body strong")
        body = page.locator("#a-body")
        assert body.locator("img, script, a[href^='javascript']").count() == 0
        assert "<img src=x" in body.inner_text() and "<script>" in body.inner_text()
        assert page.evaluate("document.body.dataset.pwned") is None
        page.click("#edit")
        page.fill("#e-body", "Second text")
        page.click("#editor button[type=submit]")
        page.wait_for_selector("#a-body:has-text('Second text')")
        page.click("#show-versions")
        page.wait_for_selector("#version-rows tr[data-version='1']")
        assert page.locator("#version-rows tr").count() == 2
        page.click("#version-rows tr[data-version='1'] button")
        page.wait_for_selector("#a-old:has-text('version 1')")
        assert "<img src=x" in body.inner_text()
        page.click("#current")
        page.wait_for_selector("#a-body:has-text('Second text')")
        assert page.evaluate("document.body.dataset.pwned") is None
        clean(page)
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_console_suggests_articles_as_the_agent_types_and_marks_the_ticket_solved_with_one(
        server: DemoServer, browser: Any, lang: str) -> None:
    """The open ticket's box: articles for its subject at once, others as the agent types,
    "solved with this" marks the ticket (GET /api/tickets/{id}/kb) and counts the article."""
    desk = server.app.state.services.desk
    ticket = desk.create("Drucker druckt nicht", "anna", description="Papierstau im 2. OG")
    printer = "Drucker druckt nicht" if lang == "de" else "Printer does not print"
    context = browser.new_context(locale="de-DE" if lang == "de" else "en-GB", timezone_id="Europe/Berlin",
                                  viewport={"width": 1440, "height": 900})
    context.add_init_script(f"localStorage.setItem('hotline.lang', '{lang}')")
    context.add_init_script(WATCH)
    page = context.new_page()
    links_read: list[str] = []  # GET /api/tickets/{id}/kb: on opening the ticket and after linking, not per keystroke
    page.on("request", lambda r: links_read.append(r.url) if r.method == "GET" and r.url.endswith(
        f"/api/tickets/{ticket['id']}/kb") else None)
    try:
        page.goto(f"{server.url}/?next={quote('/console', safe='')}")
        page.fill("#username", "anna")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console**")
        page.evaluate(f"location.hash = '#ticket={ticket['id']}'")
        box = page.locator("#ticket-kb")
        box.locator("#ticket-kb-list li:has-text('Drucker druckt nicht')").wait_for()
        opened = len(links_read)
        assert opened >= 1
        page.fill("input[name=subject]", "reset password" if lang == "en" else "Passwort zurücksetzen")
        wanted = "Reset a password" if lang == "en" else "Passwort zurücksetzen"
        box.locator(f"#ticket-kb-list li:has-text('{wanted}')").first.wait_for()
        page.fill("input[name=subject]", "Drucker druckt nicht" if lang == "de" else "printer does not print")
        row = box.locator("#ticket-kb-list li").filter(has_text=printer).first
        row.wait_for()
        assert len(links_read) == opened, links_read  # typing asked for suggestions only
        row.locator("button.kb-link").click()
        box.locator(f"#ticket-kb-linked li:has-text('{printer}')").wait_for()
        assert len(links_read) == opened + 1, links_read
        assert box.locator("#ticket-kb-list li").filter(has_text=printer).count() == 0  # not offered twice
        [link] = desk_links(server, ticket["id"])
        assert link["article"]["title"] == printer and link["linked_by"] == "anna"
        assert link["article"]["solved_count"] >= 1
        clean(page)
    finally:
        context.close()


def desk_links(server: DemoServer, ticket_id: int) -> list[dict[str, Any]]:
    found = server.app.state.services.kb_links.links(ticket_id)
    assert found is not None
    return list(found)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_no_serious_accessibility_violations(server: DemoServer, browser: Any, lang: str, tmp_path: Path) -> None:
    page = open_kb(browser, server, lang, "/kb?q=Drucker", bypass_csp=True)
    try:
        page.locator("#hits .hit-title").first.click()
        page.wait_for_selector("#a-body table")
        page.click("#show-versions")
        page.wait_for_selector("#version-rows tr")
        assert_no_serious_violations(page, f"kb article {lang}")
        page.screenshot(path=str(tmp_path / f"kb-{lang}.png"))
        page.click("#edit")
        page.click("#preview")
        page.wait_for_selector("#preview-body table")
        assert_no_serious_violations(page, f"kb editor {lang}")
        assert page.evaluate("hl.missing.size") == 0
    finally:
        page.context.close()


def articles(browser: Any, served: DemoServer) -> Iterator[tuple[str, Any]]:
    for lang, query in (("de", "Drucker"), ("en", "printer")):
        page = open_kb(browser, served, lang, f"/kb?q={query}", user="sven")
        page.locator("#hits .hit-title").first.click()
        page.wait_for_selector("#a-body table" if lang == "de" else "#a-body ul")
        yield f"kb-{lang}", page


def screenshots(out: Path) -> list[Path]:
    return shoot_pages(out, kb_server, articles)


if __name__ == "__main__":
    for made_path in screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(made_path)
