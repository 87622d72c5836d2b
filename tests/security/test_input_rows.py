"""Issue 11, the input rows: strict phone numbers (row 9), no 500 on out-of-range
dates or a strange `since` (row 10), spreadsheet formulas neutralised in the CSV
export (row 13), and ticket text without line breaks in one-line fields or
direction overrides anywhere; usernames and endpoints matched whole."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cti.callerid import NumberKind, normalize
from tests.db_fixture import db_sessions
from tickets.csv_cells import csv_cells
from tickets.customers import CustomerError, CustomerService, parse_phone
from tickets.users import UserError, validate_new_user


@pytest.mark.parametrize("raw", ["not-a-number-10", "call me at 12", "+49 341 ABC 5555", "0341-FLOWERS",
                                 "12ab34", "tel 0341 25385555"])
def test_letters_never_make_a_number(raw: str) -> None:
    assert normalize(raw).kind == NumberKind.INVALID
    with pytest.raises(CustomerError):
        parse_phone(raw)


@pytest.mark.parametrize("raw", ["+49 341 2538-5555", "0341/2538-5555", "(0341) 2538 5555", "1001"])
def test_real_numbers_still_parse(raw: str) -> None:
    assert parse_phone(raw)[1]


def test_a_csv_of_junk_rows_creates_no_contacts(database_url: str) -> None:
    with db_sessions(database_url) as sessions:
        service = CustomerService(sessions)
        text = "name,organization,phones,email,language,team\n" + "".join(
            f"Junk {n},,not-a-number-{n},,de,\n" for n in range(20))
        report = service.import_csv(io.StringIO(text))
    assert report.imported == 0 and len(report.errors) == 20


@pytest.mark.parametrize("query", [
    "/api/calls?since=0001-01-01T00:00:00%2B02:12",
    "/api/calls?since=9999-12-31T23:59:59-14:00",
    "/api/queues/hotline/stats?from=0001-01-01T00:00:00%2B02:12&to=2026-01-01T00:00:00%2B00:00",
    "/api/queues/hotline/stats?from=2026-01-01T00:00:00%2B00:00&to=9999-12-31T23:59:59-14:00",
])
def test_out_of_range_times_are_a_422_not_a_500(login: Any, query: str) -> None:
    r = login("sven").get(query)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] or r.json()["detail"]


@pytest.mark.parametrize("since", ["²", "١٢", "-1", "1e3"])
def test_a_strange_since_on_the_websocket_gets_a_snapshot(login: Any, since: str) -> None:
    with login("anna").ws(f"/ws?since={since}") as ws:
        assert ws.receive_json()["type"] == "snapshot"


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil","x")', "+SUM(1,1)", "-2+3", "@cmd"])
def test_the_csv_export_neutralises_formulas_and_the_import_reads_them_back(database_url: str, name: str) -> None:
    with db_sessions(database_url) as sessions:
        service = CustomerService(sessions)
        service.create(name, phones=("+49 341 2538-7777",))
        out = io.StringIO()
        service.export_csv(out)
        exported = [row for row in csv.reader(io.StringIO(out.getvalue())) if row and "7777" in row[2]]
        assert exported and all(not cell.startswith(("=", "+", "-", "@")) for cell in exported[-1]), exported
        back = csv_cells(exported[-1])
        assert back[0] == name and back[2] == "+49 341 2538-7777"  # what an import reads


@pytest.mark.parametrize("field,value", [
    ("subject", "line one\r\nline two"), ("subject", "reset \u202epassword"), ("category", "Drucker\n"),
    ("description", "notes \u202e reversed"), ("description", "bell \x07"), ("assignee", "anna\n"),
])
def test_ticket_text_refuses_breaks_in_one_line_fields_and_direction_overrides(
        login: Any, client: TestClient, field: str, value: str) -> None:
    anna = login("anna")
    body = {"subject": "Printer", field: value} if field in ("subject", "category", "description") \
        else {"subject": "Printer"}
    if field == "assignee":
        ticket = anna.send("POST", "/api/tickets", json={"subject": "Printer"}).json()
        r = anna.send("PATCH", f"/api/tickets/{ticket['id']}", json={field: value})
    else:
        r = anna.send("POST", "/api/tickets", json=body)
    assert r.status_code == 422, r.text
    assert any(e["field"].endswith(field) for e in r.json()["errors"]), r.text


def test_notes_keep_their_line_breaks(login: Any) -> None:
    r = login("anna").send("POST", "/api/tickets", json={"subject": "Printer", "description": "a\nb\r\n\tc"})
    assert r.status_code == 201 and r.json()["description"] == "a\nb\r\n\tc"


@pytest.mark.parametrize("username,endpoint", [("anna\n", None), ("tina", "PJSIP/1001\n")])
def test_usernames_and_endpoints_are_matched_whole(username: str, endpoint: str | None) -> None:
    with pytest.raises(UserError):
        validate_new_user(username, "a-long-password-1", endpoint)
