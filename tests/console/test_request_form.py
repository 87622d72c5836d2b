"""The public request form's API: no session, a `form` ticket and its number only;
CSRF token bound to a cookie, honeypot, per-address flood limit, size and type limits."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.console.conftest import ORIGIN
from tests.db_fixture import db_sessions
from tickets.models import Attachment, Channel, Ticket, TicketMessage

FORM = {"name": "Erika Muster", "email": "erika@stadt.example", "phone": "+49 341 2538-5555",
        "organisation": "Stadt", "subject": "Drucker im 2. OG",
        "description": "Er druckt nur leere Seiten.\nSeit heute."}


def token(client: TestClient) -> str:
    r = client.get("/api/request/token", headers={"Origin": ORIGIN})
    assert r.status_code == 200 and "samesite=strict" in r.headers["set-cookie"].lower()
    assert "httponly" in r.headers["set-cookie"].lower()
    return str(r.json()["csrf_token"])


def post(client: TestClient, body: dict[str, Any], **kw: Any) -> Any:
    return client.post("/api/request", json=body, headers={"Origin": ORIGIN}, **kw)


def form_tickets(settings: Any) -> list[tuple[Ticket, TicketMessage]]:
    with db_sessions(settings.database_url) as sessions, sessions() as s:
        return list(s.execute(select(Ticket, TicketMessage).join(TicketMessage, TicketMessage.ticket_id == Ticket.id)
                              .where(Ticket.channel == Channel.FORM)).all())  # type: ignore[arg-type]


def test_a_submission_makes_a_form_ticket_and_answers_only_its_number(client: TestClient, settings: Any) -> None:
    pdf = b"%PDF-1.4 fehlerprotokoll"
    r = post(client, {**FORM, "csrf_token": token(client),
                      "attachment": {"filename": "protokoll.pdf", "data": base64.b64encode(pdf).decode()}})
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"number"}
    [(ticket, message)] = form_tickets(settings)
    assert r.json()["number"] == ticket.number and ticket.subject == "Drucker im 2. OG"
    assert ticket.description.startswith("Er druckt nur leere Seiten.\nSeit heute.\n\n--\nname: Erika Muster")
    assert "phone: +49 341 2538-5555" in ticket.description and message.sender == "erika@stadt.example"
    with db_sessions(settings.database_url) as sessions, sessions() as s:
        [att] = s.scalars(select(Attachment))
    assert (att.filename, att.content_type, att.data) == ("protokoll.pdf", "application/pdf", pdf)


def test_the_page_is_public(client: TestClient) -> None:
    r = client.get("/request")
    assert r.status_code == 200 and 'src="/static/request.js"' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_the_honeypot_refuses_and_stores_nothing(client: TestClient, settings: Any) -> None:
    r = post(client, {**FORM, "website": "http://spam.example", "csrf_token": token(client)})
    assert (r.status_code, r.json()["code"]) == (400, "refused")
    assert form_tickets(settings) == []


def test_csrf_token_must_be_signed_fresh_and_match_its_cookie(app: Any, client: TestClient, settings: Any) -> None:
    assert post(client, dict(FORM, csrf_token="")).json()["code"] == "form_expired"
    good = token(client)
    assert post(client, dict(FORM, csrf_token=good + "x")).status_code == 403  # tampered
    other = TestClient(app)  # a second browser: its own cookie, so our token does not match it
    other.get("/api/request/token")
    r = other.post("/api/request", json=dict(FORM, csrf_token=good), headers={"Origin": ORIGIN})
    assert (r.status_code, r.json()["code"]) == (403, "form_expired")
    client.cookies.clear()  # a cross-site post carries no SameSite=Strict cookie
    assert post(client, dict(FORM, csrf_token=good)).status_code == 403
    assert form_tickets(settings) == []


def test_a_flood_from_one_address_gets_429_with_retry_after(client: TestClient, settings: Any) -> None:
    answers = [post(client, {**FORM, "csrf_token": token(client)}) for _ in range(settings.form_limit_per_minute + 2)]
    codes = [a.status_code for a in answers]
    assert codes == [201] * settings.form_limit_per_minute + [429, 429]
    assert answers[-1].json()["code"] == "rate_limited" and int(answers[-1].headers["retry-after"]) >= 1
    assert len(form_tickets(settings)) == settings.form_limit_per_minute


def test_broken_posts_count_toward_the_flood_limit_too(client: TestClient, settings: Any) -> None:
    codes = [post(client, {"junk": 1}).status_code for _ in range(settings.form_limit_per_minute + 1)]
    assert codes == [422] * settings.form_limit_per_minute + [429]


def test_oversized_bodies_are_refused_before_reading(client: TestClient, settings: Any) -> None:
    limit = settings.mail_max_attachment_bytes * 4 // 3 + 64 * 1024
    r = client.post("/api/request", content=b"x" * (limit + 1), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize(("filename", "data", "status", "code"), [
    ("gross.pdf", b"x" * 2048, 413, "attachment_too_large"),
    ("tool.exe", b"MZ", 415, "attachment_type"),
    ("archiv.zip", b"PK", 415, "attachment_type"),
])
def test_attachments_over_the_limit_or_of_a_refused_type(app: Any, settings: Any, filename: str, data: bytes,
                                                         status: int, code: str) -> None:
    app.state.services.request_desk.limits = type(app.state.services.request_desk.limits)(max_attachment_bytes=1024)
    with TestClient(app) as client:
        r = post(client, {**FORM, "csrf_token": token(client),
                          "attachment": {"filename": filename, "data": base64.b64encode(data).decode()}})
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert form_tickets(settings) == []


@pytest.mark.parametrize(("change", "field"), [
    ({"email": "not-an-address"}, "body.email"), ({"subject": ""}, "body.subject"),
    ({"name": "Erika\u202eMuster"}, "body.name"), ({"attachment": {"filename": "a.pdf", "data": "@@@"}}, None),
])
def test_bad_fields_get_422_naming_them(client: TestClient, change: dict[str, Any], field: str | None) -> None:
    r = post(client, {**FORM, "csrf_token": token(client), **change})
    assert r.status_code == 422
    if field:
        assert field in [e["field"] for e in r.json()["errors"]]
    else:
        assert r.json()["code"] == "attachment_invalid"
