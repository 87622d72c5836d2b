"""The callers' mails' texts over HTTP: admins list, preview, change and reset them;
everyone else gets 403; a text that cannot be used is a 422 naming the field and the
reason; a changed text is what the next mail says (rendered without evaluating anything)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tickets.intake import Entry, IntakeService
from tickets.models import Channel, Contact, Notification, Priority
from tickets.outbox import NoticeConfig
from tickets.sla import SlaPolicy

URL = "/api/admin/notice-templates"
GOOD = {"subject": "[#$number] Eingang: $subject",
        "body": "Hallo $name,\nIhre Nummer: $number.\n$due\n{subject.__class__} bleibt Text, $$5 auch."}


def test_only_admins_see_or_change_the_texts(login: Any) -> None:
    for name in ("anna", "sven"):
        user = login(name)
        assert user.get(URL).status_code == 403
        assert user.send("PUT", f"{URL}/created/de", json=GOOD).status_code == 403
        assert user.send("POST", f"{URL}/created/de/preview", json=GOOD).status_code == 403
        assert user.send("DELETE", f"{URL}/created/de").status_code == 403


def test_the_defaults_are_listed_and_a_preview_fills_in_a_sample_ticket(login: Any) -> None:
    admin = login("admin")
    listed = admin.get(URL).json()
    assert [(t["kind"], t["language"]) for t in listed] == [
        (k, lang) for k in ("created", "escalated", "resolved") for lang in ("de", "en")]
    assert all(t["is_default"] for t in listed)
    assert listed[3]["placeholders"] == ["number", "subject", "name", "level", "team", "due"]
    r = admin.send("POST", f"{URL}/created/de/preview", json=GOOD)
    assert r.status_code == 200, r.text
    assert r.json()["subject"] == "[#2026-000123] Eingang: Drucker im 2. OG druckt nicht"
    assert r.json()["body"].startswith("Hallo Erika Mustermann,\nIhre Nummer: 2026-000123.\nWir erwarten")
    assert r.json()["body"].endswith("{subject.__class__} bleibt Text, $5 auch.")


@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"subject": "[#$number] $subjekt", "body": "x"}, "subject", "unknown placeholder $subjekt; this mail has"),
    ({"subject": "[#$number]", "body": "$done"}, "body", "unknown placeholder $done"),  # resolved only
    ({"subject": "[#$number]", "body": "${number.__class__}"}, "body", "has a `$` that starts no placeholder"),
    ({"subject": "[#$number]", "body": "kostet 5 $"}, "body", "has a `$` that starts no placeholder"),
    ({"subject": "Eingang $number", "body": "x"}, "subject", "must contain [#$number]"),
    ({"subject": "[#$number]\nBcc: x@y", "body": "x"}, "subject", "must be one line"),
])
def test_a_text_that_cannot_be_used_is_a_422_with_the_reason(login: Any, body: dict[str, str], field: str,
                                                             reason: str) -> None:
    admin = login("admin")
    for method, url in (("PUT", f"{URL}/created/en"), ("POST", f"{URL}/created/en/preview")):
        r = admin.send(method, url, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "template_invalid" and r.json()["field"] == field
        assert r.json()["reason"].startswith(reason), r.json()
        assert r.json()["problem"] in ("unknown_placeholder", "stray_dollar", "needs_number", "one_line")
    assert all(t["is_default"] for t in admin.get(URL).json())  # nothing was stored


def test_unknown_kinds_languages_and_oversized_texts_are_refused(login: Any) -> None:
    admin = login("admin")
    assert admin.send("PUT", f"{URL}/deleted/de", json=GOOD).status_code == 422
    assert admin.send("PUT", f"{URL}/created/fr", json=GOOD).status_code == 422
    assert admin.send("PUT", f"{URL}/created/de", json={**GOOD, "body": "x" * 10_001}).status_code == 422
    assert admin.send("PUT", f"{URL}/created/de", json={"subject": 5}).status_code == 422


def test_a_saved_text_is_what_the_next_mail_says_until_it_is_reset(app: Any, login: Any) -> None:
    admin = login("admin")
    r = admin.send("PUT", f"{URL}/created/de", json=GOOD)
    assert r.status_code == 200 and not r.json()["is_default"] and r.json()["updated_by"] == "admin"
    services = app.state.services
    with services.desk.sessions.begin() as s:
        s.add(Contact(name="Erika $name Muster", email="erika@stadt.example", language="de"))
    intake = IntakeService(services.desk.sessions, SlaPolicy({Priority.NORMAL: 24}), NoticeConfig())

    def mail(subject: str) -> Notification:
        stored = intake.store(Entry(Channel.EMAIL, "erika@stadt.example", "Erika", subject, "Text"),
                              datetime(2026, 12, 1, 9, tzinfo=UTC))
        with services.desk.sessions() as s:
            return s.scalars(select(Notification).where(Notification.ticket_id == stored.ticket_id)).one()

    first = mail("Drucker ${number}")  # a caller's $ is text: values are never templates
    assert first.subject.endswith("] Eingang: Drucker ${number}")
    assert first.body.startswith("Hallo Erika $name Muster,\nIhre Nummer: 20")
    assert admin.send("DELETE", f"{URL}/created/de").status_code == 204
    assert mail("Scanner").subject.endswith("] Ihre Anfrage ist eingegangen: Scanner")
