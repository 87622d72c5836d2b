"""GET /api/calls/{ref}: a bare Linkedid while one site has it, `site:linkedid` always, and a
409 naming the `site:linkedid` candidates when two sites' Asterisks produced the same Linkedid."""

from __future__ import annotations

from typing import Any

from tests.factories import answered_call, new_linkedid
from tickets.calls_service import TicketService


def _call_at(app: Any, site: str, linkedid: str, agent: str = "PJSIP/1001") -> None:
    service = TicketService(app.state.services.desk.sessions, site=site)
    for update in answered_call("+4930111", linkedid=linkedid, agent=agent):
        service.handle(update)


def test_a_linkedid_at_one_site_answers_bare_and_qualified(app: Any, login: Any) -> None:
    sven, lid = login("sven"), new_linkedid()
    _call_at(app, "main", lid)
    bare = sven.get(f"/api/calls/{lid}")
    assert bare.status_code == 200 and (bare.json()["site"], bare.json()["linkedid"]) == ("main", lid)
    assert sven.get(f"/api/calls/main:{lid}").json() == bare.json()
    assert sven.get(f"/api/calls/east:{lid}").status_code == 404
    ticket = sven.get(f"/api/tickets/{bare.json()['ticket_id']}").json()
    assert ticket["site"] == "main"


def test_a_linkedid_at_two_sites_is_a_409_with_the_candidates(app: Any, login: Any) -> None:
    sven, anna, lid = login("sven"), login("anna"), new_linkedid()
    _call_at(app, "main", lid)
    _call_at(app, "east", lid, agent="PJSIP/2001")
    r = sven.get(f"/api/calls/{lid}")
    assert r.status_code == 409, r.text
    assert r.json()["detail"]["candidates"] == [f"east:{lid}", f"main:{lid}"]
    east = sven.get(f"/api/calls/east:{lid}")
    assert east.status_code == 200 and (east.json()["site"], east.json()["agent"]) == ("east", "PJSIP/2001")
    assert east.json()["ticket_id"] != sven.get(f"/api/calls/main:{lid}").json()["ticket_id"]
    # an agent sees only their own calls: for anna (PJSIP/1001) the bare Linkedid is main's alone
    mine = anna.get(f"/api/calls/{lid}")
    assert mine.status_code == 200 and mine.json()["site"] == "main"
    assert anna.get(f"/api/calls/east:{lid}").status_code == 404


def test_a_malformed_site_is_a_422(login: Any) -> None:
    sven = login("sven")
    for ref in ("East:1.1", "a_b:1.1", ":1.1", "main:"):
        r = sven.get(f"/api/calls/{ref}")
        assert r.status_code == 422, (ref, r.status_code, r.text)
