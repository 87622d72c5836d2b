"""POST /api/customers warns before a duplicate: a contact with the same name and
organisation, or one that has one of the numbers, is a 409 `duplicate_contact` with
the candidates, unless the body says `allow_duplicate`. The CSV import keeps its own
per-row duplicate report."""

from __future__ import annotations

from typing import Any


def test_the_same_caller_created_twice_is_a_409_with_the_candidate(login: Any) -> None:
    """The demo's case: an unknown caller created as "Jane Doe" during two calls; the chooser
    showed "Jane Doe (direct)" twice."""
    anna = login("anna")
    first = anna.send("POST", "/api/customers", json={"name": "Jane Doe", "phones": ["030 1234567"]})
    assert first.status_code == 201, first.text
    r = anna.send("POST", "/api/customers", json={"name": "jane doe", "phones": ["+49 30 1234567"]})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "duplicate_contact" and body["detail"]
    [candidate] = body["candidates"]
    assert candidate["id"] == first.json()["id"] and candidate["name"] == "Jane Doe"
    assert candidate["organization"] is None and [p["raw"] for p in candidate["phones"]] == ["030 1234567"]
    assert len(anna.get("/api/customers", params={"q": "Jane Doe"}).json()) == 1  # nothing was created
    r = anna.send("POST", "/api/customers", json={"name": "Jane Doe", "phones": ["+49 30 1234567"],
                                                  "allow_duplicate": True})
    assert r.status_code == 201, r.text
    assert len(anna.get("/api/customers", params={"q": "Jane Doe"}).json()) == 2


def test_name_and_organisation_or_a_number_make_a_duplicate(login: Any) -> None:
    anna = login("anna")
    erika = anna.send("POST", "/api/customers", json={"name": "Erika Muster", "organization": "Stadtwerke",
                                                      "phones": ["0341 2538-5555"]}).json()
    jonas = anna.send("POST", "/api/customers", json={"name": "Jonas Becker", "organization": "Stadtwerke"}).json()
    cases = [({"name": "ERIKA MUSTER", "organization": "stadtwerke"}, [erika["id"]]),  # no number: name + org
             ({"name": "Jonas Becker", "organization": "Stadtwerke", "phones": ["0341 2538-5555"]},
              [erika["id"], jonas["id"]]),  # his name, her number
             ({"name": "Someone Else", "phones": ["0341/25385555"]}, [erika["id"]])]  # a number she has
    for body, ids in cases:
        r = anna.send("POST", "/api/customers", json=body)
        assert r.status_code == 409 and [c["id"] for c in r.json()["candidates"]] == ids, (body, r.text)
    for body in ({"name": "Erika Muster"}, {"name": "Erika Muster", "organization": "Klinikum"},
                 {"name": "Erika Muster", "organization": "Stadtwerke Halle", "phones": ["0345 1"]}):
        r = anna.send("POST", "/api/customers", json=body)  # another organisation, no shared number
        assert r.status_code == 201, (body, r.text)
    bad = anna.send("POST", "/api/customers", json={"name": "X", "phones": ["call me"]})
    assert bad.status_code == 422  # invalid input is still a 422, before any duplicate check


def test_the_csv_import_still_reports_duplicates_per_row(login: Any) -> None:
    sven = login("sven")
    sven.send("POST", "/api/customers", json={"name": "Jane Doe", "phones": ["030 1234567"]})
    csv = "name,organization,phones,email,language,team\nJane Doe,,030 1234567,,de,\nJohn Roe,,030 7654321,,de,\n"
    r = sven.send("POST", "/api/customers/import", content=csv.encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 1 and [e["line"] for e in r.json()["errors"]] == [2]
