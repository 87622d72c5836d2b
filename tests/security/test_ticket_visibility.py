"""Issue 11 rows 6 and 7: agents see their own calls and tickets (and their team's),
supervisors everything — over HTTP and over the WebSocket.

Before: bert read anna's calls (one still in progress) through GET /api/customers/{id},
closed and reassigned anna's ticket, and received its full text as `ticket.updated`.
The rule is tickets/visibility.py; an invisible ticket is a 404 like a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.console.conftest import Browser
from tests.factories import add_contact, answered_call
from tickets.calls_service import TicketService
from tickets.models import Role, User
from tickets.visibility import Parties, Viewer, may_see, may_see_call

ANNA, BERT = "PJSIP/1001", "PJSIP/1002"
MARK = "test.marker"
SECRET = "Passwort des Kunden: hunter2"


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


@pytest.fixture()
def teams(client: TestClient) -> Iterator[Any]:
    """Set a user's teams (before logging in); every user's teams are cleared afterwards."""
    sessions = services(client).desk.sessions

    def set_teams(username: str, *names: str) -> None:
        with sessions.begin() as s:
            s.execute(update(User).where(User.username == username).values(teams=",".join(names)))

    yield set_teams
    with sessions.begin() as s:
        s.execute(update(User).values(teams=""))


def calls_of_anna(client: TestClient, number: str) -> tuple[int, int, str]:
    """A contact with one finished call and one in progress, both anna's: (contact, ticket, linkedid)."""
    desk = services(client).desk
    contact = add_contact(desk.sessions, "Erika Muster", number)
    recorder = TicketService(desk.sessions)
    for update_ in answered_call(number, agent=ANNA):
        recorder.handle(update_)
    answered, _ = answered_call(number, agent=ANNA)
    created = recorder.handle(answered)  # still talking: no ENDED yet
    assert created is not None
    return contact, created.ticket_id, answered.call.linkedid


def test_pure_rule() -> None:
    bert = Viewer.of("bert", Role.AGENT, BERT, ["B"])
    assert not may_see(bert, Parties(assignee="anna", created_by="anna", agents=frozenset({("main", ANNA)})))
    assert may_see(bert, Parties(assignee="bert"))
    assert may_see(bert, Parties(created_by="bert"))
    assert may_see(bert, Parties(agents=frozenset({("main", BERT)})))
    # each site's Asterisk has its own PJSIP/1002: a call there was another agent's
    assert not may_see(bert, Parties(agents=frozenset({("b", BERT)})))
    assert may_see(Viewer.of("bea", Role.AGENT, BERT, [], site="b"), Parties(agents=frozenset({("b", BERT)})))
    assert (may_see_call(bert, BERT, "main"), may_see_call(bert, BERT, "b"), may_see_call(bert, ANNA, "main")) == (
        True, False, False)
    assert may_see(bert, Parties(team="B", assignee="anna"))
    assert not may_see(bert, Parties())  # untriaged: the dispatcher's, not every agent's
    assert not may_see(Viewer.of("x", Role.AGENT, None, [""]), Parties(team=""))
    assert may_see(Viewer.of("sven", Role.SUPERVISOR, None, []), Parties())
    assert may_see(Viewer.of("root", Role.ADMIN, None, []), Parties(assignee="anna"))


def test_row6_bert_cannot_read_annas_calls_through_the_customer_view(client: TestClient, login: Any) -> None:
    contact, ticket_id, live = calls_of_anna(client, "+4930123456")
    anna, bert, sven = login("anna"), login("bert"), login("sven")
    mine = anna.get(f"/api/customers/{contact}").json()
    assert len(mine["recent_calls"]) == 2 and live in {c["linkedid"] for c in mine["recent_calls"]}
    assert {t["id"] for t in mine["open_tickets"]} >= {ticket_id}
    theirs = bert.get(f"/api/customers/{contact}")
    assert theirs.status_code == 200
    assert theirs.json()["recent_calls"] == [] and theirs.json()["open_tickets"] == []
    assert theirs.json()["name"] == "Erika Muster"  # the contact itself is shared
    assert bert.get(f"/api/calls/{live}").status_code == 404
    assert bert.get("/api/calls").json() == []
    everything = sven.get(f"/api/customers/{contact}").json()
    assert len(everything["recent_calls"]) == 2 and everything["open_tickets"]


def test_row7_bert_cannot_read_close_or_reassign_annas_ticket(client: TestClient, login: Any) -> None:
    anna, bert, sven = login("anna"), login("bert"), login("sven")
    r = anna.send("POST", "/api/tickets", json={"subject": "VPN", "description": SECRET})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    _, call_ticket, _ = calls_of_anna(client, "+4930999000")
    for ticket in (tid, call_ticket):  # created by anna, and made from anna's call
        assert anna.get(f"/api/tickets/{ticket}").status_code == 200
        assert bert.get(f"/api/tickets/{ticket}").status_code == 404
        assert bert.get(f"/api/tickets/{ticket}/history").status_code == 404
        assert bert.send("PATCH", f"/api/tickets/{ticket}", json={"status": "closed"}).status_code == 404
        assert bert.send("PATCH", f"/api/tickets/{ticket}", json={"assignee": "bert"}).status_code == 404
        r = bert.send("POST", f"/api/tickets/{ticket}/escalate", json={"level": 2, "reason": "x"})
        assert r.status_code == 404 and r.json()["detail"] == f"no ticket {ticket}"
        assert ticket not in {t["id"] for t in bert.get("/api/tickets").json()}
        assert ticket in {t["id"] for t in anna.get("/api/tickets").json()}
        assert ticket in {t["id"] for t in sven.get("/api/tickets").json()}
    after = sven.get(f"/api/tickets/{tid}").json()
    assert after["status"] == "new" and after["assignee"] == "" and after["level"] == 1
    assert bert.get("/api/tickets/999999").status_code == 404  # same answer as an invisible one
    r = sven.send("PATCH", f"/api/tickets/{tid}", json={"assignee": "bert", "status": "open"})
    assert r.status_code == 200
    assert bert.send("PATCH", f"/api/tickets/{tid}", json={"status": "resolved"}).status_code == 200


def test_a_team_sees_its_tickets(client: TestClient, login: Any, teams: Any) -> None:
    teams("bert", "Schulen", "Kliniken")
    anna, bert = login("anna"), login("bert")
    tid = anna.send("POST", "/api/tickets", json={"subject": "Drucker"}).json()["id"]
    assert bert.get(f"/api/tickets/{tid}").status_code == 404
    assert anna.send("PATCH", f"/api/tickets/{tid}", json={"team": "Kliniken"}).status_code == 200
    assert bert.get(f"/api/tickets/{tid}").status_code == 200
    assert tid in {t["id"] for t in bert.get("/api/tickets").json()}
    assert bert.send("PATCH", f"/api/tickets/{tid}", json={"team": "Verwaltung"}).status_code == 200
    assert bert.get(f"/api/tickets/{tid}").status_code == 404  # handed on: bert's team no more


def ticket_texts(client: TestClient, ws: Any) -> list[dict[str, Any]]:
    """Every `ticket.updated` this socket got, read up to a marker published after the
    notifier has handled everything so far (the marker reaches every socket)."""
    svc, token = services(client), uuid.uuid4().hex
    client.portal.call(svc.notifier.drain)  # type: ignore[union-attr]
    client.portal.call(svc.hub.publish, MARK, {"token": token})  # type: ignore[union-attr]
    seen: list[dict[str, Any]] = []
    for _ in range(200):
        msg = ws.receive_json()
        if msg["type"] == MARK and msg["data"]["token"] == token:
            return seen
        if msg["type"].startswith("ticket."):
            seen.append(msg["data"])
    raise AssertionError("no marker")


def test_row7_ticket_text_goes_only_to_those_who_may_see_it(client: TestClient, login: Any, teams: Any) -> None:
    teams("bert", "Schulen")
    anna, bert, sven = login("anna"), login("bert"), login("sven")
    tid = anna.send("POST", "/api/tickets", json={"subject": "VPN"}).json()["id"]
    sockets: dict[str, Any] = {}
    users: dict[str, Browser] = {"anna": anna, "bert": bert, "sven": sven}
    with anna.ws() as wa, bert.ws() as wb, sven.ws() as ws:
        sockets = {"anna": wa, "bert": wb, "sven": ws}
        for w in sockets.values():
            assert w.receive_json()["type"] == "snapshot"
        r = anna.send("PATCH", f"/api/tickets/{tid}", json={"description": SECRET})
        assert r.status_code == 200
        got = {name: ticket_texts(client, w) for name, w in sockets.items()}
        assert got == {"anna": [r.json()], "bert": [], "sven": [r.json()]}
        r = anna.send("PATCH", f"/api/tickets/{tid}", json={"team": "Schulen"})  # now bert's team's
        got = {name: ticket_texts(client, w) for name, w in sockets.items()}
        assert got == {"anna": [r.json()], "bert": [r.json()], "sven": [r.json()]}
    assert set(users) == set(sockets)


def test_the_knowledge_base_routes_keep_to_the_ticket_rule(client: TestClient, login: Any) -> None:
    """Linking an article, listing a ticket's links and suggestions for a ticket are 404 for a
    ticket the agent may not see, as every other ticket route."""
    anna, bert, sven = login("anna"), login("bert"), login("sven")
    tid = anna.send("POST", "/api/tickets", json={"subject": "Drucker", "description": SECRET}).json()["id"]
    article = anna.send("POST", "/api/kb/articles", json={
        "title": "Drucker druckt nicht", "body": "Warteschlange leeren.", "language": "de",
        "category": "Drucker", "tags": [], "visibility": "internal"}).json()["id"]
    assert bert.send("POST", f"/api/tickets/{tid}/kb", json={"article_id": article}).status_code == 404
    assert bert.get(f"/api/tickets/{tid}/kb").status_code == 404
    assert bert.get("/api/kb/suggest", params={"ticket_id": tid}).status_code == 404
    assert anna.get(f"/api/tickets/{tid}/kb").json() == []  # bert's link did not land
    assert anna.send("POST", f"/api/tickets/{tid}/kb", json={"article_id": article}).status_code in (200, 201)
    assert [link["article"]["id"] for link in sven.get(f"/api/tickets/{tid}/kb").json()] == [article]
    assert sven.get("/api/kb/suggest", params={"ticket_id": tid}).status_code == 200


def test_a_pops_open_tickets_get_the_same_parties_as_one_ticket_at_a_time(client: TestClient) -> None:
    """tickets_parties (a pop's open tickets, in four statements) and ticket_parties
    (one ticket, the same statements) name the same parties: a call's agent found by
    ticket id and by Linkedid, an assignee, a team, a department's members; a missing id
    is left out."""
    from tickets.departments import Departments
    from tickets.level_models import Department
    from tickets.models import Ticket
    from tickets.visibility import ticket_parties, tickets_parties

    desk = services(client).desk
    _, first, _ = calls_of_anna(client, "+4934125385101")
    _, second, _ = calls_of_anna(client, "+4934125385102")
    dep = Departments(desk.sessions).create(f"Netz {uuid.uuid4().hex[:6]}", members=["bert", "sven"])
    with desk.sessions.begin() as s:
        s.execute(update(Ticket).where(Ticket.id == second).values(assignee="bert", team="B",
                                                                  department_id=dep["id"]))
    found = tickets_parties(desk.sessions, [first, second, first, 10**9])
    assert set(found) == {first, second}
    for ticket_id in (first, second):
        assert found[ticket_id] == ticket_parties(desk.sessions, ticket_id)
    assert found[first].agents == frozenset({("main", ANNA)})
    assert found[second].department_members == frozenset({"bert", "sven"}) and found[second].team == "B"
    assert tickets_parties(desk.sessions, []) == {}
    with desk.sessions.begin() as s:  # the department goes again; its tickets keep their rows
        s.execute(update(Ticket).where(Ticket.id == second).values(department_id=None))
        s.delete(s.get(Department, dep["id"]))
