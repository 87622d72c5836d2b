"""Departments: members see their department's tickets (and only theirs), over HTTP,
in the list's department view and over the WebSocket; only an admin manages
departments and targets; agents see department names, not members."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tickets.models import Role
from tickets.visibility import Parties, Viewer, may_see

SECRET = "Zugang zum Schaltschrank: 4711"


def test_pure_rule_department_members_see() -> None:
    bert = Viewer.of("bert", Role.AGENT, "PJSIP/1002", [])
    assert may_see(bert, Parties(assignee="anna", department_members=frozenset({"bert"})))
    assert not may_see(bert, Parties(assignee="anna", department_members=frozenset({"carl"})))


def _department(admin: Any, name: str, *members: str) -> int:
    r = admin.send("POST", "/api/departments", json={"name": name, "members": list(members)})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_members_see_their_departments_tickets_and_others_do_not(client: TestClient, login: Any) -> None:
    anna, bert, admin = login("anna"), login("bert"), login("admin")
    network = _department(admin, "Netzwerk", "bert")
    apps = _department(admin, "Fachverfahren", "sven")
    tid = anna.send("POST", "/api/tickets", json={"subject": "Switch defekt", "description": SECRET}).json()["id"]
    other = anna.send("POST", "/api/tickets", json={"subject": "Fachverfahren hängt"}).json()["id"]
    assert bert.get(f"/api/tickets/{tid}").status_code == 404
    r = anna.send("PATCH", f"/api/tickets/{tid}", json={"department_id": network})
    assert r.status_code == 200 and r.json()["department_id"] == network
    assert anna.send("PATCH", f"/api/tickets/{other}", json={"department_id": apps}).status_code == 200
    # bert (a member of Netzwerk) sees, edits and lists its ticket, not the other department's
    assert bert.get(f"/api/tickets/{tid}").json()["description"] == SECRET
    assert bert.get(f"/api/tickets/{tid}/history").status_code == 200
    assert bert.send("PATCH", f"/api/tickets/{tid}", json={"assignee": "bert"}).status_code == 200
    assert bert.get(f"/api/tickets/{other}").status_code == 404
    assert {t["id"] for t in bert.get("/api/tickets?view=department").json()} == {tid}
    assert [t["id"] for t in bert.get(f"/api/tickets?department={network}&level=1").json()] == [tid]
    assert bert.get(f"/api/tickets?department={apps}").json() == []  # not his: filtered by the rule
    assert bert.get(f"/api/tickets?department={network}&level=2").json() == []
    assert bert.get("/api/departments/mine").json() == [network]
    # taking bert out of the department takes the ticket away (bert is its assignee now: still his)
    assert admin.send("PUT", f"/api/departments/{network}/members", json={"members": []}).status_code == 200
    assert bert.get("/api/tickets?view=department").json() == []


def test_bad_department_values_are_4xx(client: TestClient, login: Any) -> None:
    anna, admin = login("anna"), login("admin")
    tid = anna.send("POST", "/api/tickets", json={"subject": "x"}).json()["id"]
    r = anna.send("PATCH", f"/api/tickets/{tid}", json={"department_id": 999999})
    assert r.status_code == 422 and "department_id" in r.json()["detail"]
    assert anna.send("PATCH", f"/api/tickets/{tid}", json={"department_id": "x"}).status_code == 422
    assert admin.send("POST", "/api/departments", json={"name": ""}).status_code == 422
    assert admin.send("POST", "/api/departments", json={"name": "A", "members": ["nobody"]}).status_code == 422
    _department(admin, "Dup")
    assert admin.send("POST", "/api/departments", json={"name": "Dup"}).status_code == 422
    assert admin.send("PUT", "/api/departments/999999/members", json={"members": []}).status_code == 404
    assert anna.get("/api/tickets?department=0").status_code == 422


def test_only_an_admin_manages_departments_and_targets(client: TestClient, login: Any) -> None:
    anna, sven, admin = login("anna"), login("sven"), login("admin")
    assert anna.send("POST", "/api/departments", json={"name": "X"}).status_code == 403
    assert sven.send("POST", "/api/departments", json={"name": "X"}).status_code == 403
    dep = _department(admin, "Netzwerk", "anna")
    assert anna.send("PUT", f"/api/departments/{dep}/members", json={"members": []}).status_code == 403
    assert anna.get("/api/departments").json() == [{"id": dep, "name": "Netzwerk", "description": ""}]
    assert sven.get("/api/departments").json()[0]["members"] == ["anna"]  # supervisors see members
    target = {"priority": "normal", "level": 2, "hours": 8}
    assert anna.send("PUT", "/api/resolution-targets", json=target).status_code == 403
    assert sven.send("PUT", "/api/resolution-targets", json=target).status_code == 403
    assert anna.get("/api/resolution-targets").status_code == 403
    assert admin.send("PUT", "/api/resolution-targets", json=target).status_code == 200
    assert sven.get("/api/resolution-targets").json() == [{"organisation_id": None, **target}]
    for bad in ({**target, "level": 4}, {**target, "hours": 0}, {**target, "priority": "urgent"},
                {**target, "organisation_id": 999999}):
        assert admin.send("PUT", "/api/resolution-targets", json=bad).status_code in (404, 422), bad
    assert anna.get("/api/taskforce").status_code == 403 and sven.get("/api/taskforce").json() == []
    assert client.get("/api/departments").status_code == 401


def test_ticket_updated_reaches_department_members(client: TestClient, login: Any) -> None:
    anna, bert, admin = login("anna"), login("bert"), login("admin")
    network = _department(admin, "Netzwerk", "bert")
    tid = anna.send("POST", "/api/tickets", json={"subject": "Switch"}).json()["id"]
    with bert.ws() as ws:
        assert ws.receive_json()["type"] == "snapshot"
        assert anna.send("PATCH", f"/api/tickets/{tid}", json={"department_id": network}).status_code == 200
        msg = ws.receive_json()
        assert msg["type"] == "ticket.updated" and msg["data"]["id"] == tid
