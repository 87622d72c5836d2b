"""The public request form in Chromium (no Asterisk needed): an English submission with
an attachment shows its ticket number and makes a `form` ticket; the language follows
the browser and can be switched; axe-core finds nothing serious in either language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.axe import assert_no_serious_violations
from tests.browser.demo_day import DemoServer, demo_server
from tests.db_fixture import db_sessions
from tickets.models import Attachment, Channel, Ticket

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[DemoServer]:
    with demo_server(module_database_url) as server:
        yield server


def open_form(browser: Any, demo: DemoServer, locale: str, bypass_csp: bool = False) -> Any:
    page = browser.new_context(locale=locale, bypass_csp=bypass_csp).new_page()
    page.goto(demo.url + "/request")
    expect(page.locator("#attachment-hint")).not_to_be_empty()  # the form token has come
    return page



def fill_in(page: Any, values: dict[str, str]) -> None:
    """Each field found by its label, as a user finds it, filled with its value."""
    for label, value in values.items():
        page.get_by_label(label).fill(value)

def test_an_english_submission_shows_its_ticket_number_and_makes_a_form_ticket(
        browser: Any, demo: DemoServer, module_database_url: str, tmp_path: Path) -> None:
    pdf = tmp_path / "screenshot.pdf"
    pdf.write_bytes(b"%PDF-1.4 printer error page")
    page = open_form(browser, demo, "en-US")  # the pages' real Content-Security-Policy applies
    try:
        expect(page.locator("h1")).to_have_text("Request to the service desk")
        fill_in(page, {"Name": "Erika <b>Browser</b>", "E-mail": "erika.browser@example.org",
                       "Phone (optional)": "+49 341 2538-5588", "Subject": "Printer prints blank pages",
                       "Description": "Since this morning.\nSecond floor."})
        page.get_by_label("Attachment (optional)").set_input_files(str(pdf))
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#done")).to_be_visible()
        number = page.inner_text("#number")
        assert re.fullmatch(r"\d{4}-\d{6}", number), number
        expect(page.locator("#request")).to_be_hidden()
        with db_sessions(module_database_url) as sessions, sessions() as s:
            ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
            [attachment] = s.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id))
        assert (ticket.channel, ticket.subject) == (Channel.FORM, "Printer prints blank pages")
        assert "name: Erika <b>Browser</b>" in ticket.description
        assert attachment.data == pdf.read_bytes() and attachment.content_type == "application/pdf"
    finally:
        page.context.close()


def test_german_by_the_browser_switchable_and_422_beside_the_field(browser: Any, demo: DemoServer) -> None:
    page = open_form(browser, demo, "de-DE")
    try:
        expect(page.locator("h1")).to_have_text("Anfrage an den Service-Desk")
        fill_in(page, {"Name": "Erika", "E-Mail": "keine-adresse", "Betreff": "Test", "Beschreibung": "Text"})
        page.get_by_role("button", name="Absenden").click()
        expect(page.locator("[data-field-error=email]")).to_be_visible()
        expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
        page.select_option("#lang", "en")
        expect(page.locator("h1")).to_have_text("Request to the service desk")
        assert page.evaluate("document.documentElement.lang") == "en"
    finally:
        page.context.close()


@pytest.mark.parametrize("locale", ["de-DE", "en-GB"])
def test_axe_finds_nothing_serious_on_the_form(browser: Any, demo: DemoServer, locale: str) -> None:
    page = open_form(browser, demo, locale, bypass_csp=True)  # axe is injected as an inline script
    try:
        assert_no_serious_violations(page, f"request form ({locale})")
        page.get_by_role("button").last.click()  # everything empty: the errors are shown too
        expect(page.locator("#error")).not_to_be_empty()
        assert_no_serious_violations(page, f"request form with errors ({locale})")
        assert page.evaluate("hl.missing.size") == 0
    finally:
        page.context.close()
