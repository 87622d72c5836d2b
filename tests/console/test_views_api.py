"""The routes behind /tickets, /tickets/{id} and /calls (issue 12 "Views"): ticket
views, filters, full-text search and paging within what the user may see; a
ticket's calls; callbacks listed, closed and called back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.factories import add_contact, answered_call, gave_up
from tickets.calls_service import TicketService
from tickets.models import Ticket, User


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def ids(r: Any) -> list[int]:
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()]


def test_views_filters_search_and_paging(client: TestClient, login: Any) -> None:
    desk = services(client).desk
    anna, bert, sven = login("anna"), login("bert"), login("sven")
    made = {}
    for subject, description, priority in (("Drucker druckt nicht", "Papierstau im 2. OG", "high"),
                                           ("VPN bricht ab", "seit dem Update, Druckertreiber egal", "normal"),
                                           ("Passwort vergessen", "", "low")):
        r = anna.send("POST", "/api/tickets", json={"subject": subject, "description": description,
                                                    "priority": priority})
        assert r.status_code == 201, r.text
        made[subject.split()[0]] = r.json()["id"]
    drucker, vpn, passwort = made["Drucker"], made["VPN"], made["Passwort"]
    # full text: every word, in subject or description, any case, parts of words
    assert ids(anna.get("/api/tickets", params={"q": "druck"})) == [vpn, drucker]
    assert ids(anna.get("/api/tickets", params={"q": "DRUCK stau"})) == [drucker]
    assert ids(anna.get("/api/tickets", params={"q": "100%"})) == []  # a wildcard is a character
    assert ids(bert.get("/api/tickets", params={"q": "druck"})) == []  # not his
    assert ids(sven.get("/api/tickets", params={"q": "druck"})) == [vpn, drucker]
    # filters
    assert ids(anna.get("/api/tickets", params={"priority": "low"})) == [passwort]
    r = anna.send("POST", f"/api/tickets/{vpn}/escalate", json={"level": 2, "reason": "Netz"})
    assert r.status_code == 200
    assert ids(anna.get("/api/tickets", params={"view": "escalated"})) == [vpn]
    assert ids(anna.get("/api/tickets", params={"level": 2})) == [vpn]
    assert ids(anna.get("/api/tickets", params={"status": "open"})) == [vpn]
    # views: mine (open, owned) and team
    assert ids(anna.get("/api/tickets", params={"view": "mine"})) == [passwort, vpn, drucker]
    assert ids(sven.get("/api/tickets", params={"view": "mine"})) == []
    r = anna.send("PATCH", f"/api/tickets/{passwort}", json={"team": "Schulen", "status": "closed"})
    assert r.status_code == 200
    assert ids(anna.get("/api/tickets", params={"view": "mine"})) == [vpn, drucker]  # closed: not open work
    assert ids(anna.get("/api/tickets", params={"team": "Schulen"})) == [passwort]
    with desk.sessions.begin() as s:
        s.execute(update(User).where(User.username == "bert").values(teams="Schulen"))
        s.execute(update(Ticket).where(Ticket.id == drucker).values(team="Schulen"))
        s.execute(update(Ticket).where(Ticket.id == vpn).values(due_at=datetime.now(UTC) - timedelta(hours=1)))
    try:
        bert = login("bert")
        assert ids(bert.get("/api/tickets", params={"view": "team"})) == [drucker]  # open ones of his team
        assert ids(bert.get("/api/tickets")) == [passwort, drucker]
    finally:
        with desk.sessions.begin() as s:
            s.execute(update(User).values(teams=""))
    assert ids(anna.get("/api/tickets", params={"view": "overdue"})) == [vpn]
    assert ids(anna.get("/api/tickets", params={"overdue": True})) == [vpn]
    # paging: a page and the total
    r = anna.get("/api/tickets", params={"limit": 2, "offset": 1})
    assert ids(r) == [vpn, drucker] and r.headers["X-Total-Count"] == "3"
    assert anna.get("/api/tickets", params={"view": "nonsense"}).status_code == 422
    assert anna.get("/api/tickets", params={"offset": -1}).status_code == 422


def test_number_filter_and_a_tickets_calls(client: TestClient, login: Any) -> None:
    desk = services(client).desk
    contact = add_contact(desk.sessions, "Erika Muster", "+4934125384444")
    recorder = TicketService(desk.sessions)
    ticket = None
    for update_ in answered_call("+4934125384444", agent="PJSIP/1001"):
        ticket = recorder.handle(update_) or ticket
    assert ticket is not None
    anna, bert, sven = login("anna"), login("bert"), login("sven")
    other = anna.send("POST", "/api/tickets", json={"subject": "by contact", "contact_id": contact}).json()["id"]
    assert ids(anna.get("/api/tickets", params={"number": "0341 2538-4444"})) == [other, ticket.ticket_id]
    assert ids(anna.get("/api/tickets", params={"number": "030 1234567"})) == []
    bad = anna.get("/api/tickets", params={"number": "kein"})
    assert bad.status_code == 422 and bad.json()["code"] == "bad_number"
    calls = anna.get(f"/api/tickets/{ticket.ticket_id}/calls")
    assert calls.status_code == 200 and [c["agent"] for c in calls.json()] == ["PJSIP/1001"]
    assert [c["caller_display"] for c in calls.json()] == ["+49 341 25384444"]  # as people read it
    assert bert.get(f"/api/tickets/{ticket.ticket_id}/calls").status_code == 404
    assert len(sven.get(f"/api/tickets/{ticket.ticket_id}/calls").json()) == 1


def test_callbacks_are_listed_closed_and_called_back(client: TestClient, login: Any) -> None:
    desk = services(client).desk
    recorder = TicketService(desk.sessions)
    start = datetime.now(UTC) - timedelta(minutes=10)
    recorder.handle(gave_up("+4934125384444", start))
    recorder.handle(gave_up("1003", start + timedelta(minutes=1)))
    anna, sven = login("anna"), login("sven")
    items = anna.get("/api/callbacks").json()
    assert [i["caller_number"] for i in items] == ["+4934125384444", "1003"]  # longest waiting first
    assert [i["caller_display"] for i in items] == ["+49 341 25384444", "1003"]
    external, internal = items[0]["id"], items[1]["id"]
    # not on the dial allow-list (default 10XX,5555): refused before anything reaches the PBX
    r = anna.send("POST", f"/api/callbacks/{external}/call")
    assert r.status_code == 422 and r.json()["code"] == "dial_refused"
    # the item keeps why it was not called (shown on /calls), and stays open
    refused = anna.get("/api/callbacks").json()[0]
    assert (refused["id"], refused["status"]) == (external, "open")
    assert refused["refused"] == "not on this hotline's dial allow-list (allowed: 10XX, 5555)"
    assert items[1]["refused"] == ""
    r = sven.send("POST", f"/api/callbacks/{internal}/call")
    assert r.status_code == 409 and r.json()["code"] == "no_endpoint"
    assert anna.send("POST", f"/api/callbacks/{internal}/call").status_code == 503  # no PBX in this app
    assert desk.callback(internal)["status"] == "open"  # not called: still open
    r = anna.send("POST", f"/api/callbacks/{external}/done")
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["done_by"] == "anna"
    assert [i["id"] for i in anna.get("/api/callbacks").json()] == [internal]
    assert [i["id"] for i in anna.get("/api/callbacks", params={"status": "done"}).json()] == [external]
    r = anna.send("POST", f"/api/callbacks/{external}/call")
    assert r.status_code == 409 and r.json()["code"] == "callback_done"
    assert anna.send("POST", "/api/callbacks/999999/done").status_code == 404
    assert anna.get("/api/callbacks", params={"status": "x"}).status_code == 422
