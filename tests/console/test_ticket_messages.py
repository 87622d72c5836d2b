"""A ticket's conversation over HTTP: mails and form entries with their attachments,
callers' mails; attachments only as downloads, never rendered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tickets.intake import Entry
from tickets.mail_parse import AttachmentIn
from tickets.models import Channel

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def test_messages_and_attachments_of_a_ticket(app: Any, login: Any) -> None:
    anna = login("anna")
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


def test_unknown_ids_are_404(login: Any) -> None:
    anna = login("anna")
    assert anna.get("/api/tickets/999999/messages").status_code == 404
    assert anna.get("/api/attachments/999999").status_code == 404
    assert anna.get("/api/attachments/0").status_code == 422
