"""HTTP API: sessions, roles, CSRF, validation (4xx, never 500), the contract's endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.console.conftest import ORIGIN, PASSWORD


def test_every_api_route_refuses_anonymous_access(app: Any, client: TestClient) -> None:
    routes = [(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops]
    routes += [("GET", "/openapi.json"), ("GET", "/docs")]
    checked = 0
    for method, route in routes:
        if (method, route) in {("POST", "/api/session"), ("GET", "/api/request/token"), ("POST", "/api/request")}:
            continue  # logging in and the public request form (tests/console/test_request_form.py)
        path = route.replace("{ticket_id}", "1").replace("{contact_id}", "1").replace(
            "{linkedid}", "1.1").replace("{name}", "hotline")
        r = client.request(method, path, headers={"Origin": ORIGIN})
        assert r.status_code == 401, (method, path, r.status_code)
        checked += 1
    assert checked >= 25


def test_login_sets_an_httponly_strict_cookie_and_me_answers(client: TestClient) -> None:
    r = client.post("/api/session", json={"username": "anna", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    me = client.get("/api/me").json()
    assert me["username"] == "anna" and me["role"] == "agent" and me["endpoint"] == "PJSIP/1001"
    assert (me["site"], me["partner"]) == ("main", "in-house")


def test_wrong_password_then_rate_limit(client: TestClient) -> None:
    for _ in range(5):
        assert client.post("/api/session", json={"username": "anna", "password": "nope-nope"}).status_code == 401
    r = client.post("/api/session", json={"username": "anna", "password": PASSWORD})
    assert r.status_code == 429 and "too many" in r.json()["detail"]


def test_forged_or_expired_cookie_is_refused(client: TestClient) -> None:
    r = client.get("/api/me", headers={"Cookie": "hotline_session=eyJ1aWQiOjF9.forged.sig"})
    assert r.status_code == 401


def test_writes_need_the_csrf_token(login: Any) -> None:
    anna = login("anna")
    body = {"subject": "Drucker"}
    assert anna.send("POST", "/api/tickets", json=body, csrf=False).status_code == 403
    assert anna.send("POST", "/api/tickets", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert anna.send("POST", "/api/tickets", json=body).status_code == 201


def test_login_from_another_site_is_refused(client: TestClient) -> None:
    r = client.post("/api/session", json={"username": "anna", "password": PASSWORD},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


STATS = "/api/queues/hotline/stats?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z"


@pytest.mark.parametrize("path", ["/api/queues", STATS, "/metrics"])
def test_agents_get_403_on_supervisor_data(login: Any, path: str) -> None:
    assert login("anna").get(path).status_code == 403
    assert login("sven").get(path).status_code == 200


def test_customer_import_is_not_for_agents(login: Any) -> None:
    csv = "name,organization,phones,email,language,team\nX,Y,0341 1234567,,de,\n"
    assert login("anna").send("POST", "/api/customers/import", content=csv).status_code == 403
    r = login("admin").send("POST", "/api/customers/import", content=csv)
    assert r.status_code == 200 and r.json()["imported"] == 1


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/customers", {"name": ""}),
    ("POST", "/api/customers", {"name": "A", "phones": ["not a number"]}),
    ("POST", "/api/customers", {"name": "A", "language": "fr"}),
    ("POST", "/api/customers", "not json"),
    ("POST", "/api/tickets", {"subject": "x", "priority": "urgent!!"}),
    ("POST", "/api/tickets", {}),
    ("PATCH", "/api/tickets/999999", {"subject": "x"}),
    ("POST", "/api/tickets/999999/escalate", {"level": 2, "reason": "r"}),
    ("POST", "/api/agent/pause", {"reason": "lunch\r\nAction: Originate"}),
    ("POST", "/api/agent/dial", {"number": "0341\r\n"}),
    ("GET", "/api/calls?limit=0", None),
    ("GET", "/api/calls?since=yesterday", None),
    ("GET", "/api/calls?since=2026-01-01T00:00:00", None),
    ("GET", "/api/customers/lookup", None),
    ("GET", "/api/tickets/abc", None),
    ("POST", "/api/calls/1.1/transfer", {"target": "1002"}),
])
def test_bad_requests_get_a_4xx_with_a_reason(login: Any, method: str, path: str, body: Any) -> None:
    anna = login("anna")
    kw = {"content": body} if isinstance(body, str) else ({"json": body} if body is not None else {})
    r = anna.send(method, path, **kw) if method != "GET" else anna.get(path)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["detail"]


def test_customer_create_and_lookup_in_any_format(login: Any) -> None:
    anna = login("anna")
    r = anna.send("POST", "/api/customers", json={"name": "Erika <b>Muster</b>", "organization": "Stadtwerke",
                                                   "phones": ["+49 (0)341 2538-5555"]})
    assert r.status_code == 201, r.text
    found = anna.get("/api/customers/lookup", params={"number": "0341/2538-5555"}).json()
    assert found["status"] == "known" and found["contact"]["name"] == "Erika <b>Muster</b>"
    assert anna.get("/api/customers/lookup", params={"number": "anonymous"}).json()["status"] == "withheld"
    assert anna.get("/api/customers/lookup", params={"number": "030 999999"}).json()["status"] == "unknown"


def test_ticket_update_and_escalation_are_recorded(login: Any) -> None:
    anna = login("anna")
    t = anna.send("POST", "/api/tickets", json={"subject": "VPN geht nicht", "priority": "high"}).json()
    assert t["number"] and t["due_at"]
    r = anna.send("PATCH", f"/api/tickets/{t['id']}", json={"category": "network", "first_contact_resolution": True})
    assert r.status_code == 200 and r.json()["category"] == "network"
    assert anna.send("PATCH", f"/api/tickets/{t['id']}", json={"owner": "x"}).status_code == 422
    r = anna.send("POST", f"/api/tickets/{t['id']}/escalate", json={"level": 2, "reason": "needs network team"})
    assert r.status_code == 200 and r.json()["level"] == 2
    history = anna.get(f"/api/tickets/{t['id']}/history").json()
    assert {h["field"] for h in history} >= {"category", "level"}


def test_calls_and_agent_actions_without_pbx(login: Any) -> None:
    anna = login("anna")
    assert anna.get("/api/calls").json() == []
    r = anna.send("POST", "/api/agent/pause", json={"reason": "lunch"})
    assert r.status_code == 503 and "PBX" in r.json()["detail"]
    assert login("sven").send("POST", "/api/agent/pause", json={"reason": "x"}).status_code == 409


def test_openapi_and_health_need_a_session(client: TestClient, login: Any) -> None:
    assert client.get("/openapi.json").status_code == 401
    sven = login("sven")
    spec = sven.get("/openapi.json").json()
    assert "/api/customers/lookup" in spec["paths"] and "/api/tickets/{ticket_id}/escalate" in spec["paths"]
    health = sven.get("/healthz").json()
    assert health["database"] == "ok" and health["ami"] == "disabled"


def test_livez_answers_without_a_session_and_without_details(client: TestClient) -> None:
    r = client.get("/livez")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["cache-control"] == "no-store"
    assert client.head("/livez").status_code == 200
    assert client.get("/healthz").status_code == 401  # the detailed one stays behind a session
