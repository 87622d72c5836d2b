"""Refusals carry a machine-readable `code` the page translates; field errors name
the field, pydantic's error type and its limit, so no developer text reaches users."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.console.conftest import ORIGIN


def test_a_422_names_each_field_with_a_code_and_its_limit(client: TestClient) -> None:
    r = client.post("/api/session", json={"username": "x" * 65, "password": ""}, headers={"Origin": ORIGIN})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid"
    by_field = {e["field"]: e for e in body["errors"]}
    assert by_field["body.username"]["code"] == "string_too_long"
    assert by_field["body.username"]["params"] == {"max_length": 64}
    assert by_field["body.password"]["code"] == "string_too_short"
    assert by_field["body.password"]["params"] == {"min_length": 1}


def test_a_user_without_a_phone_gets_a_code_not_only_an_admin_hint(login: Any) -> None:
    sven = login("sven")  # a supervisor without an endpoint
    r = sven.send("POST", "/api/agent/pause", json={"reason": "lunch"})
    assert r.status_code == 409
    assert r.json()["code"] == "no_endpoint" and "detail" in r.json()


def test_refusals_without_a_code_keep_their_plain_shape(login: Any) -> None:
    r = login("anna").get("/api/tickets/999999")
    assert r.status_code == 404 and "code" not in r.json() and r.json()["detail"]
