"""A ticket's conversation over HTTP: mails and form entries with their attachments,
callers' mails; attachments only as downloads, never rendered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.factories import add_contact, answered_call
from tickets.calls_service import TicketService
from tickets.intake import Entry
from tickets.mail_parse import AttachmentIn
from tickets.models import Channel, Contact, Ticket
from tickets.outbox import NoticeConfig, enqueue

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def test_messages_and_attachments_of_a_ticket(app: Any, login: Any) -> None:
    anna = login("sven")  # an untriaged intake ticket: supervisors see it, agents not yet
    entry = Entry(Channel.EMAIL, "erika@stadt.example", "Erika", "Drucker", "Er druckt nicht.",
                  message_id="<m1@stadt.example>",
                  attachments=(AttachmentIn("bild \u00e4\".svg", "image/svg+xml", SVG),))
    stored = app.state.services.intake.store(entry, datetime(2026, 12, 1, 9, tzinfo=UTC))
    r = anna.get(f"/api/tickets/{stored.ticket_id}/messages")
    assert r.status_code == 200
    [message] = r.json()["messages"]
    assert (message["sender"], message["subject"], message["body"], message["channel"]) == (
        "erika@stadt.example", "Drucker", "Er druckt nicht.", "email")
    [att] = message["attachments"]
    assert (att["filename"], att["size"]) == ("bild \u00e4\".svg", len(SVG)) and r.json()["notifications"] == []
    got = anna.get(f"/api/attachments/{att['id']}")
    assert got.status_code == 200 and got.content == SVG
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith('attachment; filename="bild __.svg"')
    assert "sandbox" in got.headers["content-security-policy"]
    assert got.headers["x-content-type-options"] == "nosniff"
    agent = login("anna")  # the ticket rule: neither the messages nor a file of them
    assert agent.get(f"/api/tickets/{stored.ticket_id}/messages").status_code == 404
    assert agent.get(f"/api/attachments/{att['id']}").status_code == 404


def test_unknown_ids_are_404(login: Any) -> None:
    anna = login("anna")
    assert anna.get("/api/tickets/999999/messages").status_code == 404
    assert anna.get("/api/attachments/999999").status_code == 404
    assert anna.get("/api/attachments/0").status_code == 422


def test_the_timeline_has_calls_mails_forms_faxes_and_callers_mails_oldest_first(app: Any, login: Any) -> None:
    services = app.state.services
    contact = add_contact(services.desk.sessions, "Erika Muster", "+4934125384444")
    with services.desk.sessions.begin() as s:
        s.get_one(Contact, contact).email = "erika@stadt.example"
    ticket = None
    for update_ in answered_call("+4934125384444", agent="PJSIP/1001"):  # anna's call (T0)
        ticket = TicketService(services.desk.sessions).handle(update_) or ticket
    assert ticket is not None
    with services.desk.sessions() as s:
        number = s.get_one(Ticket, ticket.ticket_id).number
    day = datetime(2026, 12, 1, 9, tzinfo=UTC)
    for hours, entry in ((3, Entry(Channel.FAX, "+4934125384444", "Stadt", "Fax", "Seite 1", message_id="fax:1.2",
                                   ticket_number=number, attachments=(AttachmentIn("fax.pdf", "application/pdf",
                                                                                   b"%PDF-1.4"),))),
                         (1, Entry(Channel.EMAIL, "erika@stadt.example", "Erika", "Nachtrag",
                                   "<b>kein</b> HTML", message_id="<m2@stadt.example>", ticket_number=number)),
                         (2, Entry(Channel.FORM, "erika@stadt.example", "Erika", "Formular", "noch was",
                                   ticket_number=number))):
        services.intake.store(entry, day + timedelta(hours=hours))
    with services.desk.sessions.begin() as s:
        enqueue(s, s.get_one(Ticket, ticket.ticket_id), "resolved", day + timedelta(hours=4), NoticeConfig())
    anna, bert, sven = login("anna"), login("bert"), login("sven")
    r = anna.get(f"/api/tickets/{ticket.ticket_id}/timeline")
    assert r.status_code == 200, r.text
    items = r.json()
    assert [i["kind"] for i in items] == ["call", "email", "form", "fax", "notification"]
    assert items[0]["call"]["agent"] == "PJSIP/1001"
    assert items[0]["call"]["agent_name"] == "anna"  # the user's display name (the username when none is set)
    assert items[1]["message"]["body"] == "<b>kein</b> HTML"  # text: the page shows it as text
    [pdf] = items[3]["message"]["attachments"]
    assert anna.get(f"/api/attachments/{pdf['id']}").content == b"%PDF-1.4"
    assert items[4]["notification"]["kind"] == "resolved" and "[#" + number + "]" in items[4]["notification"]["subject"]
    assert [i["at"][:13] for i in items[1:]] == ["2026-12-01T10", "2026-12-01T11", "2026-12-01T12", "2026-12-01T13"]
    # the ticket rule: bert (no call, no team of it) sees neither the ticket nor its files
    assert bert.get(f"/api/tickets/{ticket.ticket_id}/timeline").status_code == 404
    assert bert.get(f"/api/attachments/{pdf['id']}").status_code == 404
    assert [i["kind"] for i in sven.get(f"/api/tickets/{ticket.ticket_id}/timeline").json()][0] == "call"
    assert anna.get("/api/tickets/999999/timeline").status_code == 404
    assert anna.get("/api/tickets/0/timeline").status_code == 422


def test_a_call_by_an_endpoint_no_user_has_keeps_no_agent_name() -> None:
    """The name is the user's whose endpoint it is at the call's site: site b's PJSIP/1001
    is another agent than main's."""
    from tickets.timeline import with_agent_names

    calls = [{"site": "main", "agent": "PJSIP/1001"}, {"site": "main", "agent": "PJSIP/1009"},
             {"site": "main", "agent": None}, {"site": "b", "agent": "PJSIP/1001"},
             {"site": "c", "agent": "PJSIP/1001"}]
    names = {("main", "PJSIP/1001"): "Anna Berger", ("b", "PJSIP/1001"): "Bea Brandt"}
    assert [c["agent_name"] for c in with_agent_names(calls, names)] == [
        "Anna Berger", None, None, "Bea Brandt", None]
