"""Issue 11 row 8 in a real browser: the pages work under the Content-Security-Policy
(no violation on login, console and wallboard) and the console refuses to be framed.

Chromium (Debian's, through Playwright) against a real `hotline serve` without a PBX.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import conftest as browser_tests
from tests.console.conftest import PASSWORD
from tests.security.auth_app import Served, add_user, serve_without_pbx

pytestmark = pytest.mark.browser
browser = browser_tests.browser  # headless Debian chromium, as the other browser tests
WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""


@pytest.fixture(scope="module")
def served(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    add_user(module_database_url)
    add_user(module_database_url, "sven", None)
    with serve_without_pbx(module_database_url, tmp_path_factory.mktemp("serve") / "serve.log") as server:
        yield server


def fresh_page(browser: Any) -> tuple[Any, list[str]]:
    page = browser.new_context(locale="en-US").new_page()
    page.add_init_script(WATCH)
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    return page, messages


@pytest.mark.parametrize(("user", "lands_on"), [("anna", "/console"), ("sven", "/wallboard")])
def test_the_pages_work_under_the_policy(browser: Any, served: Served, user: str, lands_on: str) -> None:
    page, messages = fresh_page(browser)
    page.goto(served.url + "/")
    assert page.evaluate("window.__violations") == []
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")  # the login script is a file now: this proves it runs
    page.wait_for_url("**" + lands_on)
    page.wait_for_selector("body[data-ws=open]", state="attached")  # not wait_for_function: it needs eval
    assert page.evaluate("window.__violations") == []
    assert not [m for m in messages if "Content Security Policy" in m], messages
    page.context.close()


def test_another_site_cannot_frame_the_console(browser: Any, served: Served) -> None:
    page, _ = fresh_page(browser)
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text, timeout=10_000):
        page.set_content(f'<iframe id="f" src="{served.url}/"></iframe>')  # a page of another origin
    assert page.frame_locator("#f").locator("#username").count() == 0  # the login form never rendered
    page.context.close()
