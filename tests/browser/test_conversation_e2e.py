"""One ticket, all its conversation, in Chromium: the ticket page and the console's
ticket editor show the call, a mail, a form entry, a fax (its PDF a download link) and
the mail sent to the caller in one timeline, oldest first, every caller's text as text;
an agent who may not see the ticket gets nothing. The admin page for the callers'
mail texts: a text with an unknown placeholder is explained in the page's language, a
good one is previewed with a sample ticket and saved; agents are refused. axe-core, no
missing text in German and English; screenshots for the README."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.browser.axe import assert_no_serious_violations
from tests.browser.demo_day import PASSWORD, DemoServer, demo_server, log_in, new_page
from tests.browser.shots import shot
from tests.browser.test_views_e2e import open_as, text
from tests.factories import answered_call
from tickets.calls_service import TicketService
from tickets.fax import tiff_to_pdf
from tickets.intake import Entry
from tickets.mail_parse import AttachmentIn
from tickets.models import Channel, Role, Ticket
from tickets.outbox import NoticeConfig, enqueue

pytestmark = [pytest.mark.browser]
HOSTILE = '<img src=x onerror="document.body.dataset.owned=1">'
KINDS = ["call", "email", "form", "fax", "notification"]


def fax_pdf() -> bytes:
    page = Image.new("1", (1728, 1143), 1)
    ImageDraw.Draw(page).text((100, 100), "Stoerung Drucker", fill=0)
    out = io.BytesIO()
    page.save(out, format="TIFF", compression="group4", dpi=(204, 98))
    pdf = tiff_to_pdf(out.getvalue()).pdf
    assert pdf is not None
    return pdf


@pytest.fixture(scope="module")
def demo(module_database_url: str) -> Iterator[tuple[DemoServer, int]]:
    with demo_server(module_database_url) as server:
        server.app.state.services.pbx = None  # the console here needs no PBX (the demo's stand-in has no registry)
        yield server, seed(server)


def seed(server: DemoServer) -> int:
    """anna's call from Erika, then Erika's mail, her form entry, her fax and the mail she got."""
    s = server.app.state.services
    s.customers.create("Erika Muster", organization="Stadtwerke Leipzig", phones=("0341 2538-7711",),
                       email="erika@example.org", language="de")
    if "admin" not in {u.username for u in s.users.all()}:
        s.users.add("admin", PASSWORD, Role.ADMIN, None, display_name="Ada Admin")
    start = datetime.now(UTC) - timedelta(hours=5)
    ticket = None
    for update in answered_call("+4934125387711", agent="PJSIP/1001", entered_at=start, wait=12, talk=300):
        ticket = TicketService(s.desk.sessions, policy=s.desk.policy).handle(update) or ticket
    assert ticket is not None
    with s.desk.sessions() as db:
        number = db.get_one(Ticket, ticket.ticket_id).number
    entries = [
        Entry(Channel.EMAIL, "erika@example.org", "Erika Muster", "AW: Drucker", f"Er druckt wieder nicht. {HOSTILE}",
              message_id="<r1@example.org>", ticket_number=number,
              attachments=(AttachmentIn("fehler.txt", "text/plain", b"Fehler 0x41"),)),
        Entry(Channel.FORM, "erika@example.org", "Erika Muster", "Webformular: Drucker", "Fach 2 klemmt.",
              ticket_number=number),
        Entry(Channel.FAX, "+4934125387711", "Stadtwerke", "Fax from +4934125387711", "Fax received.",
              message_id="fax:1796.1", ticket_number=number,
              attachments=(AttachmentIn("fax-1796.1.pdf", "application/pdf", fax_pdf()),)),
    ]
    for hours, entry in enumerate(entries, 1):
        s.intake.store(entry, start + timedelta(hours=hours))
    with s.desk.sessions.begin() as db:
        enqueue(db, db.get_one(Ticket, ticket.ticket_id), "resolved", start + timedelta(hours=4), NoticeConfig())
    return ticket.ticket_id


def kinds(page: Any, where: str) -> list[str]:
    return [str(k) for k in page.eval_on_selector_all(f"{where} .tl-item", "ns => ns.map(n => n.dataset.kind)")]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_ticket_page_shows_the_whole_conversation_oldest_first(demo: tuple[DemoServer, int], browser: Any,
                                                                   lang: str) -> None:
    server, ticket_id = demo
    page = open_as(browser, server, "anna", lang, f"/tickets/{ticket_id}")
    try:
        page.wait_for_selector("#timeline .tl-notification")
        assert kinds(page, "#timeline") == KINDS
        body = page.inner_text("#timeline")
        assert HOSTILE in body and page.query_selector("#timeline img") is None  # text, never markup
        assert page.evaluate("document.body.dataset.owned") is None
        edit = "In der Konsole bearbeiten" if lang == "de" else "Edit in the console"
        assert page.inner_text("#edit-in-console") == edit
        assert ("Mail an den Anrufer" if lang == "de" else "Mail to the caller") in body
        pdf = page.locator("#timeline .tl-fax a")
        assert pdf.get_attribute("href").startswith("/api/attachments/") and pdf.inner_text() == "fax-1796.1.pdf"
        with page.expect_download() as download:
            pdf.click()
        assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
        assert page.evaluate("hl.missing.size") == 0, page.evaluate("[...hl.missing]")
        assert not re.search(r"\b(undefined|null|NaN|timeline\.)|PJSIP/", text(page))
        assert_no_serious_violations(page, f"ticket timeline ({lang})")
        page.screenshot(path=shot(f"ticket-timeline-{lang}.png"), full_page=True)
    finally:
        page.context.close()


def test_the_console_ticket_editor_shows_it_too_and_others_see_nothing(demo: tuple[DemoServer, int],
                                                                       browser: Any) -> None:
    server, ticket_id = demo
    page = new_page(browser, "en", (1440, 900))
    page.goto(server.url + "/")
    log_in(page, "anna")
    page.wait_for_url("**/console")
    try:
        # from the read-only ticket page to the console's editor, as an agent works a mail ticket
        page.goto(server.url + f"/tickets/{ticket_id}")
        page.wait_for_selector(f"#edit-in-console[href='/console#ticket={ticket_id}']")
        page.click("#edit-in-console")
        page.wait_for_url(f"**/console#ticket={ticket_id}")
        page.wait_for_function("document.body.dataset.ws === 'open'")
        page.wait_for_selector("#ticket-timeline .tl-notification")
        assert kinds(page, "#ticket-timeline") == KINDS
        assert page.query_selector("#ticket-timeline img") is None
        assert "PJSIP/" not in page.inner_text("#ticket-timeline")  # the agent by name, never the endpoint
        page.locator("#ticket-timeline .tl-notification summary").click()
        assert "Guten Tag Erika Muster" in page.inner_text("#ticket-timeline .tl-notification")
        assert_no_serious_violations(page, "console ticket timeline")
        page.screenshot(path=shot("console-ticket-timeline-en.png"), full_page=True)
    finally:
        page.context.close()
    other = open_as(browser, server, "bert", "en", f"/tickets/{ticket_id}")
    try:
        other.wait_for_selector("#ticket-h:not(:empty)")
        assert other.evaluate(f"fetch('/api/tickets/{ticket_id}/timeline').then(r => r.status)") == 404
        assert other.query_selector("#timeline .tl-item") is None
    finally:
        other.context.close()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_an_admin_previews_and_saves_a_mail_text_and_a_wrong_placeholder_is_explained(
        demo: tuple[DemoServer, int], browser: Any, lang: str) -> None:
    server, _ticket = demo
    page = open_as(browser, server, "admin", lang, "/admin/templates")
    try:
        page.wait_for_function("document.querySelector('#template-form [name=subject]').value !== ''")
        assert page.get_attribute("nav.site a[href='/admin/templates']", "aria-current") == "page"
        page.select_option("[name=kind]", "escalated")
        page.select_option("[name=language]", lang)
        page.fill("[name=subject]", "[#$number] $betreff")
        page.click("#preview")
        page.wait_for_selector("#template-error:not(:empty)")
        error = page.inner_text("#template-error")
        assert "$betreff" in error and "$level" in error and ("Platzhalter" if lang == "de" else "placeholder") in error
        page.fill("[name=subject]", "[#$number] Jetzt bei Level $level: $subject")
        page.click("#preview")
        page.wait_for_selector("#preview-box:not([hidden])")
        assert page.inner_text("#preview-subject") == "[#2026-000123] Jetzt bei Level 2: Drucker im 2. OG druckt nicht"
        page.click("#save")
        page.wait_for_selector("#status.notice:not(:empty)")
        assert "admin" in page.inner_text("#template-state")
        assert page.evaluate("hl.missing.size") == 0, page.evaluate("[...hl.missing]")
        assert_no_serious_violations(page, f"admin templates ({lang})")
        page.screenshot(path=shot(f"admin-templates-{lang}.png"), full_page=True)
        page.click("#reset")
        page.wait_for_function("document.querySelector('#template-state').textContent.length > 0 && "
                               "!document.querySelector('#template-state').textContent.includes('admin')")
    finally:
        page.context.close()
    agent = open_as(browser, server, "anna", lang, "/admin/templates")
    try:
        assert agent.inner_text("#status") == ("Diese Seite ist nur für Administratoren." if lang == "de"
                                               else "This page is for administrators only.")
        assert agent.is_hidden("nav.site a[href='/admin/templates']")
        assert agent.evaluate("fetch('/api/admin/notice-templates').then(r => r.status)") == 403
    finally:
        agent.context.close()
