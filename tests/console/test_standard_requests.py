"""Standard requests: a template fills the ticket in the caller's language, closes it as
solved on first contact (resolved_at, FCR), queues nothing half-done on bad input, and
keeps the audit trail (template, every answer, who) in the history."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import add_contact
from tickets.models import Contact

RESET = {"account": "emuster", "system": "Active Directory", "identity_check": "Rückruf an hinterlegte Nummer"}


def contact(client: TestClient) -> int:
    return add_contact(client.app.state.services.desk.sessions, "Erika Muster", "+4934125385555")  # type: ignore[attr-defined]


def test_password_reset_is_solved_on_first_contact_with_an_audit_trail(client: TestClient, login: Any) -> None:
    anna, bert = login("anna"), login("bert")
    assert [t["key"] for t in anna.get("/api/standard-requests").json()] == ["password_reset", "role_change"]
    cid = contact(client)
    r = anna.send("POST", "/api/standard-requests", json={"template": "password_reset", "contact_id": cid,
                                                            "fields": RESET})
    assert r.status_code == 201, r.text
    tk = r.json()
    assert tk["subject"] == "Passwort zurückgesetzt: emuster (Active Directory)"  # the contact speaks German
    assert "Identität geprüft durch: Rückruf an hinterlegte Nummer" in tk["description"]
    assert (tk["status"], tk["first_contact_resolution"], tk["category"]) == ("resolved", True, "password")
    assert tk["resolved_at"] is not None and tk["contact_id"] == cid
    history = anna.get(f"/api/tickets/{tk['id']}/history").json()
    assert [h["field"] for h in history] == ["created", "standard_request", "first_contact_resolution", "status"]
    audit = history[1]
    assert audit["actor"] == "anna" and audit["new"] == "password_reset"
    assert json.loads(audit["note"]) == {"template": "password_reset", "contact_id": cid, **RESET}
    assert history[3]["note"] == "standard request password_reset: solved on first contact"
    assert bert.get(f"/api/tickets/{tk['id']}").status_code == 404  # anna's ticket, by the ticket rule


def test_role_change_in_english(client: TestClient, login: Any) -> None:
    anna = login("anna")
    cid = contact(client)
    with client.app.state.services.desk.sessions.begin() as s:  # type: ignore[attr-defined]
        s.get_one(Contact, cid).language = "en"  # an English-speaking caller
    fields = {"account": "jdoe", "system": "SAP", "new_role": "Einkauf", "approved_by": "M. Lang"}
    tk = anna.send("POST", "/api/standard-requests", json={"template": "role_change", "contact_id": cid,
                                                           "fields": fields}).json()
    assert tk["subject"] == "Role change: jdoe → Einkauf (SAP)" and "Approved by: M. Lang" in tk["description"]


def test_bad_standard_requests_are_422_and_change_nothing(client: TestClient, login: Any) -> None:
    anna = login("anna")
    cid = contact(client)
    before = len(anna.get("/api/tickets?view=all").json())
    for body, field in (
            ({"template": "password_reset", "contact_id": cid, "fields": {**RESET, "account": " "}}, "fields.account"),
            ({"template": "password_reset", "contact_id": cid, "fields": {"account": "x"}}, "fields.system"),
            ({"template": "password_reset", "contact_id": cid, "fields": {**RESET, "x": "y"}}, None),
            ({"template": "format_disk", "contact_id": cid, "fields": RESET}, None),
            ({"template": "password_reset", "contact_id": 999999, "fields": RESET}, None),
            ({"template": "password_reset", "contact_id": cid, "fields": {**RESET, "system": "a\nb"}}, None),
            ({"template": "password_reset", "contact_id": cid, "fields": {**RESET, "system": "x" * 201}}, None)):
        r = anna.send("POST", "/api/standard-requests", json=body)
        assert r.status_code == 422, (body, r.text)
        if field:
            assert r.json()["errors"][0]["field"] == f"body.{field}"
    assert len(anna.get("/api/tickets?view=all").json()) == before
    assert client.post("/api/standard-requests", json={}).status_code in (401, 403)
