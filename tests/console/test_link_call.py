"""POST /api/calls/{linkedid}/contact: a call (a withheld caller too) is linked to a
contact later; its ticket gets the contact when it has none, as ticket.updated with a
new version. Only the agent who took the call or a supervisor; others get a 404."""

from __future__ import annotations

from typing import Any

from tests.factories import answered_call
from tickets.calls_service import TicketService


def _withheld_call_of_anna(app: Any, end: bool = True) -> str:
    updates = answered_call(None, agent="PJSIP/1001")  # caller_number None: withheld
    service = TicketService(app.state.services.desk.sessions)
    for update in updates if end else updates[:1]:
        service.handle(update)
    return updates[0].call.linkedid


def _contact(who: Any, name: str) -> int:
    r = who.send("POST", "/api/customers", json={"name": name, "allow_duplicate": True})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_a_withheld_call_is_linked_and_its_ticket_gets_the_contact(app: Any, login: Any) -> None:
    anna = login("anna")
    lid = _withheld_call_of_anna(app)
    call = anna.get(f"/api/calls/{lid}").json()
    assert call["contact_id"] is None and call["ticket_id"] is not None
    erika = _contact(anna, "Erika Muster")
    with anna.ws() as ws:
        assert ws.receive_json()["type"] == "snapshot"
        r = anna.send("POST", f"/api/calls/{lid}/contact", json={"contact_id": erika})
        assert r.status_code == 200, r.text
        msg = ws.receive_json()
        while msg["type"] != "ticket.updated":
            msg = ws.receive_json()
    assert r.json()["call"]["contact_id"] == erika and r.json()["ticket"]["contact_id"] == erika
    assert msg["data"] == r.json()["ticket"] and msg["data"]["version"] == 2
    assert anna.get(f"/api/calls/{lid}").json()["contact_id"] == erika
    ticket_id = call["ticket_id"]
    assert anna.get(f"/api/tickets/{ticket_id}").json()["contact_id"] == erika
    history = anna.get(f"/api/tickets/{ticket_id}/history").json()
    assert [(h["field"], h["new"], h["actor"]) for h in history if h["field"] == "contact_id"] == [
        ("contact_id", str(erika), "anna")]


def test_a_ticket_that_has_a_contact_keeps_it(app: Any, login: Any) -> None:
    anna, sven = login("anna"), login("sven")
    lid = _withheld_call_of_anna(app)
    first, second = _contact(anna, "Erika Muster"), _contact(anna, "Jonas Becker")
    assert anna.send("POST", f"/api/calls/{lid}/contact", json={"contact_id": first}).status_code == 200
    r = sven.send("POST", f"/api/calls/{lid}/contact", json={"contact_id": second})  # a supervisor may
    assert r.status_code == 200 and r.json()["call"]["contact_id"] == second and r.json()["ticket"] is None
    ticket = anna.get(f"/api/tickets/{r.json()['call']['ticket_id']}").json()
    assert ticket["contact_id"] == first and ticket["version"] == 2  # unchanged: no new version


def test_others_calls_unknown_calls_and_contacts_are_refused(app: Any, login: Any) -> None:
    anna, bert = login("anna"), login("bert")
    lid = _withheld_call_of_anna(app, end=False)  # during the call too
    erika = _contact(anna, "Erika Muster")
    assert bert.send("POST", f"/api/calls/{lid}/contact", json={"contact_id": erika}).status_code == 404
    assert anna.send("POST", "/api/calls/1.999/contact", json={"contact_id": erika}).status_code == 404
    r = anna.send("POST", f"/api/calls/{lid}/contact", json={"contact_id": 999999})
    assert r.status_code == 422 and "contact_id" in r.json()["detail"]
    for bad in ({}, {"contact_id": 0}, {"contact_id": "x"}, {"contact_id": 2**40}):
        assert anna.send("POST", f"/api/calls/{lid}/contact", json=bad).status_code == 422, bad
    assert anna.get(f"/api/calls/{lid}").json()["contact_id"] is None
    assert anna.send("POST", f"/api/calls/{lid}/contact", json={"contact_id": erika}).status_code == 200


def test_the_calls_ticket_carries_its_wait_entry_position_and_talk(app: Any, login: Any) -> None:
    anna = login("anna")
    updates = answered_call("+4934125385555", agent="PJSIP/1001", wait=12.0, talk=95.0, position=3)
    service = TicketService(app.state.services.desk.sessions)
    service.handle(updates[0])
    ticket_id = anna.get(f"/api/calls/{updates[0].call.linkedid}").json()["ticket_id"]
    during = anna.get(f"/api/tickets/{ticket_id}").json()
    assert (during["wait_seconds"], during["queue_position"], during["talk_seconds"]) == (12.0, 3, None)
    service.handle(updates[1])
    after = anna.get(f"/api/tickets/{ticket_id}").json()
    assert (after["wait_seconds"], after["queue_position"], after["talk_seconds"]) == (12.0, 3, 95.0)
    plain = anna.send("POST", "/api/tickets", json={"subject": "by mail"}).json()
    shown = anna.get(f"/api/tickets/{plain['id']}").json()
    assert (shown["wait_seconds"], shown["queue_position"], shown["talk_seconds"]) == (None, None, None)
