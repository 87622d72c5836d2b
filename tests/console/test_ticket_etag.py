"""ETag / If-Match on tickets: GET and PATCH send the version, a stale If-Match is a
409 `ticket_conflict` with the current ticket and changes nothing, ticket.updated
carries the version."""

from __future__ import annotations

import threading
from typing import Any


def _ticket(anna: Any) -> dict[str, Any]:
    r = anna.send("POST", "/api/tickets", json={"subject": "VPN geht nicht"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_get_and_patch_send_the_version_as_etag(login: Any) -> None:
    anna = login("anna")
    t = _ticket(anna)
    assert t["version"] == 1
    r = anna.get(f"/api/tickets/{t['id']}")
    assert r.headers["etag"] == '"1"' and r.json()["version"] == 1
    r = anna.send("PATCH", f"/api/tickets/{t['id']}", json={"category": "network"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"' and r.json()["version"] == 2 and r.json()["category"] == "network"
    r = anna.send("PATCH", f"/api/tickets/{t['id']}", json={"team": "net"})  # no If-Match: as before
    assert r.status_code == 200 and r.json()["version"] == 3
    r = anna.send("POST", f"/api/tickets/{t['id']}/escalate", json={"level": 2, "reason": "net"})
    assert r.status_code == 200 and r.headers["etag"] == '"4"'


def test_a_stale_if_match_is_a_409_with_the_current_ticket_and_nothing_changes(login: Any) -> None:
    anna, bert = login("anna"), login("bert")
    t = _ticket(anna)
    assert bert.send("PATCH", f"/api/tickets/{t['id']}", json={"description": "bert's words"},
                     headers={"If-Match": '"1"'}).status_code == 200
    r = anna.send("PATCH", f"/api/tickets/{t['id']}", json={"description": "anna's words"},
                  headers={"If-Match": '"1"'})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "ticket_conflict" and body["detail"]
    assert body["ticket"]["version"] == 2 and body["ticket"]["description"] == "bert's words"
    assert r.headers["etag"] == '"2"'
    for tag in ('"x"', '"99999999999999"', "nonsense"):  # can never match: a conflict, not a 500
        r = anna.send("PATCH", f"/api/tickets/{t['id']}", json={"description": "x"}, headers={"If-Match": tag})
        assert r.status_code == 409 and r.json()["code"] == "ticket_conflict"
    assert anna.get(f"/api/tickets/{t['id']}").json()["description"] == "bert's words"
    r = anna.send("PATCH", f"/api/tickets/{t['id']}", json={"description": "anna's words"},
                  headers={"If-Match": 'W/"2"'})
    assert r.status_code == 200 and r.json()["version"] == 3
    r = anna.send("PATCH", f"/api/tickets/{t['id']}", json={"description": "star"}, headers={"If-Match": "*"})
    assert r.status_code == 200 and r.json()["version"] == 4


def test_two_concurrent_patches_with_one_if_match_exactly_one_wins(login: Any) -> None:
    anna, bert = login("anna"), login("bert")
    t = _ticket(anna)
    start = threading.Barrier(2)
    codes: dict[str, int] = {}

    def edit(who: Any, name: str) -> None:
        start.wait()
        r = who.send("PATCH", f"/api/tickets/{t['id']}", json={"description": name}, headers={"If-Match": '"1"'})
        codes[name] = r.status_code

    threads = [threading.Thread(target=edit, args=(w, n)) for w, n in ((anna, "anna"), (bert, "bert"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(codes.values()) == [200, 409], codes
    winner = next(n for n, c in codes.items() if c == 200)
    final = anna.get(f"/api/tickets/{t['id']}").json()
    assert final["version"] == 2 and final["description"] == winner


def test_ticket_updated_carries_the_version(login: Any) -> None:
    anna = login("anna")
    t = _ticket(anna)
    with anna.ws() as ws:
        assert ws.receive_json()["type"] == "snapshot"
        anna.send("PATCH", f"/api/tickets/{t['id']}", json={"category": "network"}, headers={"If-Match": '"1"'})
        msg = ws.receive_json()
        while msg["type"] != "ticket.updated":
            msg = ws.receive_json()
    assert msg["data"]["id"] == t["id"] and msg["data"]["version"] == 2
