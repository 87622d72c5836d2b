"""Hostile input across the API: control characters, markup, huge and broken bodies, odd numbers, broken CSV.

Every answer is a 4xx with a JSON `detail`, or a success when the input is legitimately fine (markup in a
name is data: stored and returned verbatim). Nothing is a 5xx, on SQLite and on PostgreSQL alike (which
refuses NUL in text and any string that is not valid UTF-8, so the app must refuse those first).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.console.conftest import ORIGIN, Browser

HTML = "<img src=x onerror=alert(1)>"
CRLF = "Erika\r\nX-Injected: 1"
NUL = "Erika\x00Muster"
SURROGATE = "Erika \ud800 Muster"  # a lone surrogate: no UTF-8 encoding exists
LONG = "A" * 10_000
BIDI = "Erika \u202eevil"
STATS = "?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z"


def refused(r: Any, *codes: int) -> dict[str, Any]:
    """A 4xx (one of `codes` when given) whose JSON body names the reason."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if codes:
        assert r.status_code in codes, (r.status_code, r.text[:300])
    body: dict[str, Any] = r.json()
    assert isinstance(body, dict) and body.get("detail"), body
    return body


def raw_json(browser: Browser, method: str, url: str, body: bytes, content_type: str = "application/json") -> Any:
    return browser.send(method, url, content=body, headers={"Content-Type": content_type})


def dumps(value: Any) -> bytes:
    """JSON as an attacker may send it: lone surrogates as \\ud800 escapes (valid JSON text, invalid Unicode)."""
    return json.dumps(value).encode("ascii")


@pytest.fixture(autouse=True)
def _close_pools(app: Any) -> Iterator[None]:
    """Each test builds an app with its own pool: close it, so PostgreSQL does not run out of
    connections (at most 6 at once on PostgreSQL, counted; a full gc.collect() after each
    test, as before, cost 0.8 s a test and freed none of them)."""
    yield
    app.state.services.desk.sessions.kw["bind"].dispose()


@pytest.fixture()
def anna(login: Any) -> Browser:
    browser: Browser = login("anna")
    return browser


# --- customers: names and other text fields ------------------------------------------------------------


@pytest.mark.parametrize("name", [HTML, "O'Brien; DROP TABLE contacts;--", "Jürgen Groß 李小龙 🙂", "  Erika  "])
def test_markup_and_unicode_in_a_customer_name_are_data(anna: Browser, name: str) -> None:
    r = anna.send("POST", "/api/customers", json={"name": name, "organization": HTML, "team": HTML,
                                                   "phones": ["+49 341 2538 5555"]})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == name.strip() and created["organization"]["name"] == HTML
    again = anna.get(f"/api/customers/{created['id']}").json()
    assert again["name"] == name.strip() and again["organization"]["name"] == HTML and again["team"] == HTML
    found = anna.get("/api/customers/lookup", params={"number": "0341 25385555"}).json()
    assert found["contact"]["name"] == name.strip()


@pytest.mark.parametrize("value", [CRLF, NUL, SURROGATE, LONG, BIDI, "tab\there", "\x1b[31mred"])
def test_control_characters_and_huge_strings_in_customer_fields_are_refused(anna: Browser, value: str) -> None:
    for field in ["name", "organization", "team", "email"]:
        body = {"name": "Erika Muster", field: value}
        refused(raw_json(anna, "POST", "/api/customers", dumps(body)), 422)
    assert anna.get("/api/customers", params={"q": "Erika"}).json() == []


@pytest.mark.parametrize("phone", [NUL, CRLF, SURROGATE, HTML, LONG, "0341\r\n5555", "+49 341 1;2", "1" * 40])
def test_hostile_phone_numbers_are_refused(anna: Browser, phone: str) -> None:
    refused(raw_json(anna, "POST", "/api/customers", dumps({"name": "Erika", "phones": [phone]})), 422)


def test_too_many_phones_and_wrong_types_are_refused(anna: Browser) -> None:
    refused(anna.send("POST", "/api/customers", json={"name": "E", "phones": ["0341 1234567"] * 21}), 422)
    refused(anna.send("POST", "/api/customers", json={"name": "E", "phones": "0341 1234567"}), 422)
    refused(anna.send("POST", "/api/customers", json={"name": ["E"]}), 422)
    refused(anna.send("POST", "/api/customers", json={"name": None}), 422)
    refused(anna.send("POST", "/api/customers", json=["E"]), 422)


# --- tickets: subjects and other text fields ------------------------------------------------------------


@pytest.mark.parametrize("subject", [HTML, "Drucker \"HP\" 'LaserJet' & <Co>", "VPN 🙂 geht nicht", "x" * 300])
def test_markup_in_a_ticket_is_stored_and_returned_verbatim(anna: Browser, subject: str) -> None:
    r = anna.send("POST", "/api/tickets", json={"subject": subject, "description": f"{HTML}\r\nline 2",
                                                 "category": HTML})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["subject"] == subject and t["description"] == f"{HTML}\r\nline 2" and t["category"] == HTML
    assert anna.get(f"/api/tickets/{t['id']}").json()["subject"] == subject
    r = anna.send("PATCH", f"/api/tickets/{t['id']}", json={"assignee": HTML, "team": HTML})
    assert r.status_code == 200 and r.json()["assignee"] == HTML
    assert any(h["new"] == HTML for h in anna.get(f"/api/tickets/{t['id']}/history").json())


@pytest.mark.parametrize("field", ["subject", "description", "category"])
@pytest.mark.parametrize("value", [NUL, SURROGATE])
def test_nul_and_lone_surrogates_in_a_ticket_are_refused(anna: Browser, field: str, value: str) -> None:
    body = {"subject": "Drucker", field: value}
    refused(raw_json(anna, "POST", "/api/tickets", dumps(body)), 422)
    t = anna.send("POST", "/api/tickets", json={"subject": "Drucker"}).json()
    refused(raw_json(anna, "PATCH", f"/api/tickets/{t['id']}", dumps({field: value})), 422)
    assert anna.get(f"/api/tickets/{t['id']}").json()["subject"] == "Drucker"
    refused(raw_json(anna, "POST", f"/api/tickets/{t['id']}/escalate", dumps({"level": 2, "reason": value})), 422)
    assert anna.get(f"/api/tickets/{t['id']}").json()["level"] == 1


def test_a_subject_with_a_line_break_is_kept_or_refused_never_a_server_error(anna: Browser) -> None:
    r = anna.send("POST", "/api/tickets", json={"subject": CRLF})
    if r.status_code == 201:
        assert anna.get(f"/api/tickets/{r.json()['id']}").json()["subject"] == CRLF
    else:
        refused(r, 422)


@pytest.mark.parametrize("body", [
    {"subject": LONG},
    {"subject": "x", "description": "d" * 20_001},
    {"subject": "   "},
    {"subject": "x", "priority": HTML},
    {"subject": "x", "channel": "phone\r\n"},
    {"subject": "x", "contact_id": -1},
    {"subject": "x", "contact_id": 0},
    {"subject": "x", "contact_id": 10**30},
    {"subject": "x", "contact_id": 2**31},
    {"subject": "x", "contact_id": 1.5},
    {"subject": "x", "contact_id": "1; DROP TABLE tickets"},
    {"subject": "x", "contact_id": 999_999},
    {"subject": 12},
    {"subject": {"$ne": ""}},
])
def test_bad_ticket_bodies_are_refused(anna: Browser, body: dict[str, Any]) -> None:
    refused(anna.send("POST", "/api/tickets", json=body), 422)
    assert anna.get("/api/tickets").json() == []


# --- raw bodies: not UTF-8, not JSON, too deep, wrong type ---------------------------------------------


WRITES = [("POST", "/api/customers"), ("POST", "/api/tickets"), ("PATCH", "/api/tickets/1"),
          ("POST", "/api/tickets/1/escalate"), ("POST", "/api/agent/pause"), ("POST", "/api/agent/dial"),
          ("POST", "/api/calls/1.1/transfer")]


@pytest.mark.parametrize("body", [
    b"\xff\xfe\x00{\x00}",
    b'{"subject": "\xff\xfe caf\xe9", "name": "\xc3\x28", "reason": "\xed\xa0\x80"}',
    b'{"subject": "x", "name": "x"',
    b"",
    b"null",
    b"[]",
    b'"just a string"',
    b"NaN",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"subject": "x", "name": "x", "contact_id": ' + b"9" * 5000 + b"}",
    b'{"subject": 1e400, "name": 1e400, "level": 1e400, "reason": 1e400, "number": 1e400, "target": 1e400}',
    b'{"subject": -0.0, "name": true, "level": "2", "reason": [], "number": {}, "target": null}',
])
def test_broken_raw_bodies_are_refused(anna: Browser, body: bytes) -> None:
    for method, url in WRITES:
        refused(raw_json(anna, method, url, body))
    assert anna.get("/api/tickets").json() == [] and anna.get("/api/customers").json() == []


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "text/csv", "multipart/form-data; boundary=x",
    "application/xml", "application/octet-stream"])
def test_a_body_that_is_not_json_by_content_type_is_refused(anna: Browser, content_type: str) -> None:
    for body in ["subject=Drucker", "<ticket><subject>x</subject></ticket>", json.dumps({"subject": "Drucker"})]:
        refused(anna.send("POST", "/api/tickets", content=body, headers={"Content-Type": content_type}), 422)
    assert anna.get("/api/tickets").json() == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.api+json"])
def test_json_content_types_are_read_as_json(anna: Browser, content_type: str) -> None:
    r = anna.send("POST", "/api/tickets", content=json.dumps({"subject": "Drucker"}),
                  headers={"Content-Type": content_type})
    assert r.status_code == 201 and r.json()["subject"] == "Drucker", r.text


def test_a_deeply_nested_value_inside_a_valid_body_is_refused(anna: Browser) -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = {"a": [deep]}
    refused(anna.send("POST", "/api/tickets", json={"subject": deep}), 422)
    refused(anna.send("POST", "/api/customers", json={"name": "E", "phones": [deep]}), 422)
    refused(anna.send("PATCH", "/api/tickets/1", json={"subject": "x", "extra": deep}), 404, 422)


# --- ids, numbers and query strings ---------------------------------------------------------------------


@pytest.mark.parametrize("ticket_id", ["-1", "0", "2147483648", str(10**30), "1e3", "1.0", "0x10", "%00", "1%0d%0a"])
def test_odd_ticket_ids_are_refused(anna: Browser, ticket_id: str) -> None:
    refused(anna.get(f"/api/tickets/{ticket_id}"), 404, 422)
    refused(anna.get(f"/api/tickets/{ticket_id}/history"), 404, 422)
    refused(anna.send("PATCH", f"/api/tickets/{ticket_id}", json={"subject": "x"}), 404, 422)
    refused(anna.send("POST", f"/api/tickets/{ticket_id}/escalate", json={"level": 2, "reason": "r"}), 404, 422)
    refused(anna.get(f"/api/customers/{ticket_id}"), 404, 422)


def test_negative_and_huge_ids_are_422(anna: Browser) -> None:
    for path in ["/api/tickets/-1", "/api/customers/-5", f"/api/tickets/{2**31}", f"/api/customers/{10**30}"]:
        body = refused(anna.get(path), 422)
        assert body["errors"], body
    refused(anna.get("/api/tickets", params={"contact_id": -1}), 422)
    refused(anna.get("/api/tickets", params={"contact_id": 10**30}), 422)


@pytest.mark.parametrize(("path", "params"), [
    ("/api/customers", {"limit": str(10**30)}),
    ("/api/customers", {"limit": "-1"}),
    ("/api/customers", {"q": LONG}),
    ("/api/tickets", {"limit": "1e3"}),
    ("/api/tickets", {"status": HTML}),
    ("/api/tickets", {"overdue": "maybe"}),
    ("/api/calls", {"limit": str(2**64)}),
    ("/api/calls", {"since": "2026-01-01T00:00:00\x00Z"}),
    ("/api/calls", {"since": "99999-01-01T00:00:00Z"}),
    ("/api/calls", {"queue": LONG}),
    ("/api/calls", {"outcome": "answered\r\n"}),
    ("/api/customers/lookup", {"number": LONG}),
])
def test_bad_query_parameters_are_refused(anna: Browser, path: str, params: dict[str, str]) -> None:
    refused(anna.get(path, params=params), 422)


@pytest.mark.parametrize("value", [NUL, CRLF, HTML, SURROGATE, BIDI, "%", "\\", "_%_", "' OR 1=1 --", "\ufffd" * 50])
def test_hostile_search_and_lookup_text_never_fails(login: Any, value: str) -> None:
    anna, sven = login("anna"), login("sven")
    anna.send("POST", "/api/customers", json={"name": "Erika Muster", "phones": ["0341 1234567"]})
    wire = quote(value.encode("utf-8", "surrogatepass"), safe="")  # percent-encoded, as a client sends it
    for who, path in [
        (anna, f"/api/customers?q={wire}"),
        (anna, f"/api/customers/lookup?number={wire}"),
        (anna, f"/api/calls?queue={wire}"),
        (anna, f"/api/tickets?status={wire}"),
        (anna, f"/api/customers/{wire}"),
        (anna, f"/api/calls/{wire}"),
        (anna, f"/api/tickets/{wire}"),
        (sven, f"/api/queues/{wire}/stats{STATS}"),
    ]:
        r = who.get(path)
        assert r.status_code < 500, (path, r.status_code, r.text[:200])
        if r.status_code >= 400:
            refused(r)
    assert anna.get("/api/customers", params={"q": "' OR 1=1 --"}).json() == []
    lookup = anna.get("/api/customers/lookup", params={"number": HTML}).json()
    assert lookup["status"] != "known" and lookup["raw"] == HTML  # returned as data, not interpreted


# --- agent actions, transfer and login ------------------------------------------------------------------


@pytest.mark.parametrize("value", [CRLF, NUL, SURROGATE, "x\rAction: Hangup", "1001\nChannel: PJSIP/1002", LONG])
def test_hostile_values_for_the_pbx_are_refused_before_the_pbx(anna: Browser, value: str) -> None:
    refused(raw_json(anna, "POST", "/api/agent/pause", dumps({"reason": value})), 422)
    refused(raw_json(anna, "POST", "/api/agent/dial", dumps({"number": value})), 422)
    refused(raw_json(anna, "POST", "/api/calls/1.1/transfer", dumps({"target": value})), 409, 422)


@pytest.mark.parametrize("value", [NUL, SURROGATE, CRLF, HTML, LONG, "anna\x00"])
def test_hostile_login_values_are_refused(client: TestClient, value: str) -> None:
    for body in ({"username": value, "password": "test-password-1"}, {"username": "anna", "password": value}):
        r = client.post("/api/session", content=dumps(body),
                        headers={"Content-Type": "application/json", "Origin": ORIGIN})
        refused(r, 401, 422, 429)
        assert "set-cookie" not in r.headers


# --- CSV import -----------------------------------------------------------------------------------------

HEADER = "name,organization,phones,email,language,team\n"


def imported(admin: Browser, body: bytes | str, content_type: str = "text/csv; charset=utf-8") -> dict[str, Any]:
    r = admin.send("POST", "/api/customers/import", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


def test_csv_import_keeps_good_rows_and_reports_each_broken_one(login: Any) -> None:
    admin = login("admin")
    csv = (HEADER
           + "Erika Muster,Stadtwerke,0341 1234567,erika@example.org,de,IT\n"          # 2 good
           + "Bad Phone,X,not-a-number,,de,\n"                                            # 3 bad phone
           + ",Nobody Inc,0341 7654321,,de,\n"                                            # 4 empty name
           + "Too Many,X,0341 1111111,,de,,extra,columns\n"                               # 5 too many columns
           + "Nul\x00Byte,X,0341 2222222,,de,\n"                                          # 6 NUL byte
           + "Too Few,X\n"                                                                # 7 too few columns
           + f"{HTML},\"Quoted, Org\",0341 3333333,,en,\n"                                # 8 good, markup kept
           + "Line\rBreak,X,0341 4444444,,de,\n"                                          # 9 bare CR
           + "Bad Mail,X,0341 5555555,not-an-email,de,\n"                                 # 10 bad e-mail
           + "Bad Lang,X,0341 6666666,,fr,\n"                                             # 11 bad language
           + f"{'L' * 10_000},X,0341 7777777,,de,\n"                                      # 12 10 kB name
           + "Jürgen Groß,Müller GmbH,+49 341 8888888;0341 9999999,,de,\n"               # 13 good, two numbers
           + "\"Unclosed,X,0341 1212121,,de,\n")                                          # 14.. broken quote
    report = imported(admin, csv)
    assert report["imported"] == 3, report
    lines = {e["line"] for e in report["errors"]}
    assert {3, 4, 5, 6, 7, 10, 11, 12} <= lines, report
    assert all(isinstance(e["error"], str) and e["error"] for e in report["errors"])
    assert 2 not in lines and 8 not in lines
    names = {c["name"] for c in admin.get("/api/customers", params={"limit": 500}).json()}
    assert {"Erika Muster", HTML, "Jürgen Groß"} <= names
    assert not any("\x00" in n or "\r" in n or "\n" in n for n in names), names
    found = admin.get("/api/customers/lookup", params={"number": "+493419999999"}).json()
    assert found["status"] == "known" and found["contact"]["name"] == "Jürgen Groß"


def test_csv_import_with_crlf_lines_bom_and_latin1_declared_as_utf8(login: Any) -> None:
    admin = login("admin")
    report = imported(admin, ("\ufeff" + HEADER + "Erika,Org,0341 1234567,,de,\n").replace("\n", "\r\n").encode())
    assert report == {"imported": 1, "errors": []}
    latin1 = (HEADER + "Jürgen,Org,0341 7654321,,de,\n").encode("latin-1")
    r = admin.send("POST", "/api/customers/import", content=latin1, headers={"Content-Type": "text/csv"})
    assert "UTF-8" in refused(r, 422)["detail"]


@pytest.mark.parametrize("body", [
    b"\xff\xfe" + "name,phones\nErika,0341 1234567\n".encode("utf-16-le"),
    b"name,phones\n\xc3\x28,0341 1234567\n",
    b"\xed\xa0\x80name,phones\n",
    b"",
    b"\n\n  \n",
    b"foo,bar\n1,2\n",
    b"name,name,phones\nE,E,0341 1234567\n",
    b"organization,phones\nX,0341 1234567\n",
    b"\x00\x00\x00\x00",
    HTML.encode(),
])
def test_an_unreadable_csv_is_refused_as_a_whole(login: Any, body: bytes) -> None:
    admin = login("admin")
    refused(admin.send("POST", "/api/customers/import", content=body, headers={"Content-Type": "text/csv"}), 422)
    assert admin.get("/api/customers").json() == []


def test_csv_import_needs_the_csrf_token_and_the_role(login: Any) -> None:
    body = HEADER + "Erika,Org,0341 1234567,,de,\n"
    refused(login("admin").send("POST", "/api/customers/import", content=body, csrf=False), 403)
    refused(login("bert").send("POST", "/api/customers/import", content=body), 403)
    assert login("sven").get("/api/customers").json() == []
