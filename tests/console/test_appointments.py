"""On-site appointments: a 2nd-level agent books a slot on a ticket, the ticket shows it,
and the iCalendar export parses (with the icalendar library) into the booked events,
callers' text escaped by the format; only tickets the user may see are exported."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import icalendar
from fastapi.testclient import TestClient

START = "2026-12-03T09:00:00+01:00"
END = "2026-12-03T10:30:00+01:00"
PLACE = "Rathaus, Zimmer 3.14; Markt 1, Eingang B"


def level2_ticket(agent: Any, subject: str = "Drucker im Rathaus") -> int:
    tid = int(agent.send("POST", "/api/tickets", json={"subject": subject}).json()["id"])
    assert agent.send("POST", f"/api/tickets/{tid}/escalate",
                      json={"level": 2, "reason": "vor Ort nötig"}).status_code == 200
    return tid


def book(agent: Any, tid: int, **kw: Any) -> Any:
    body = {"starts_at": START, "ends_at": END, "place": "Rathaus", "technician": "bert", **kw}
    return agent.send("POST", f"/api/tickets/{tid}/appointments", json=body)


def test_book_show_and_export(client: TestClient, login: Any) -> None:
    anna, sven = login("anna"), login("sven")
    tid = level2_ticket(anna)
    version = anna.get(f"/api/tickets/{tid}").json()["version"]
    r = book(anna, tid, place=PLACE, note="Toner, Trommel")
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["starts_at"], a["ends_at"]) == ("2026-12-03T08:00:00+00:00", "2026-12-03T09:30:00+00:00")
    assert a["place"] == PLACE
    assert a["technician"] == "bert" and a["booked_by"] == "anna"
    assert [x["id"] for x in anna.get(f"/api/tickets/{tid}/appointments").json()] == [a["id"]]
    assert anna.get(f"/api/tickets/{tid}").json()["version"] == version + 1
    history = anna.get(f"/api/tickets/{tid}/history").json()
    assert history[-1]["field"] == "appointment" and history[-1]["note"] == f"bert @ {a['place']}"

    r = sven.get("/api/appointments.ics?technician=bert&from=2026-12-01T00:00:00Z&to=2026-12-31T00:00:00Z")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    [event] = cal.walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    assert str(event["location"]) == a["place"]  # comma and semicolon escaped and read back
    assert str(event["summary"]).startswith("[#") and "Drucker im Rathaus" in str(event["summary"])
    assert str(event["uid"]) == f"appointment-{a['id']}@hotline.invalid"
    assert "Toner, Trommel" in str(event["description"])
    none = sven.get("/api/appointments.ics?technician=carl").content
    assert icalendar.Calendar.from_ical(none).walk("VEVENT") == []


def test_only_level_2_or_3_and_only_visible_tickets(client: TestClient, login: Any) -> None:
    anna, bert = login("anna"), login("bert")
    first = int(anna.send("POST", "/api/tickets", json={"subject": "Level 1"}).json()["id"])
    r = book(anna, first)
    assert r.status_code == 422 and "level" in r.json()["detail"]
    tid = level2_ticket(anna, "Geheimes Projekt")
    assert book(bert, tid).status_code == 404  # bert may not see anna's ticket
    assert bert.get(f"/api/tickets/{tid}/appointments").status_code == 404
    assert book(anna, tid).status_code == 201
    ics = bert.get("/api/appointments.ics").content  # bert is the technician, but not on the ticket
    assert icalendar.Calendar.from_ical(ics).walk("VEVENT") == []
    assert len(icalendar.Calendar.from_ical(anna.get("/api/appointments.ics").content).walk("VEVENT")) == 1


def test_bad_appointments_are_422(client: TestClient, login: Any) -> None:
    anna = login("anna")
    tid = level2_ticket(anna)
    for bad in ({"ends_at": START}, {"ends_at": "2026-12-04T09:00:00+01:00"}, {"starts_at": "2026-12-03T09:00:00"},
                {"technician": "nobody"}, {"place": ""}, {"place": "a\nb"}, {"place": "x" * 301},
                {"starts_at": "morgen"}):
        r = book(anna, tid, **bad)
        assert r.status_code == 422, (bad, r.text)
    assert anna.get("/api/tickets/999999/appointments").status_code == 404
    assert anna.get("/api/appointments.ics?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z").status_code == 422
    assert anna.get("/api/appointments.ics?from=gestern").status_code == 422
    assert client.get("/api/appointments.ics").status_code == 401
