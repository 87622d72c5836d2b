"""Each site's Asterisk has its own PJSIP/1001. On an instance that follows site `main`,
bea (site b, PJSIP/1001) is not main's PJSIP/1001 (anna): she never gets main's pops for
it (live, replayed or in her snapshot), her phone actions are refused with 409
`phone_elsewhere` before anything reaches main's Asterisk, main's calls and directory are
not hers, and her snapshot carries the notice her console shows (agent_console/site_phone.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

import agent_console
from agent_console.hub import ALL
from agent_console.site_phone import elsewhere, local_endpoint, own_endpoint
from agent_console.web import render_pages
from cti import events as ev
from tests.console.conftest import PASSWORD
from tests.console.test_transfer_api import LID, answered_by_anna
from tests.console.test_wrapup_api import RecordingBridge, with_bridge
from tests.console.test_ws import T0, publish, snap, until
from tests.factories import answered_call
from tests.test_i18n import catalog
from tickets.calls_service import TicketService
from tickets.models import Role, User
from tickets.users import UserService

MARK = "test.marker"
BEA_NOTICE = {"server_site": "main", "phone_site": "b", "endpoint": "PJSIP/1001"}


@pytest.fixture()
def bea(app: Any) -> Iterator[None]:
    """bea: an agent at site b whose phone is b's PJSIP/1001 (anna has main's)."""
    users = UserService(app.state.services.desk.sessions)
    with users.sessions.begin() as s:
        s.execute(delete(User).where(User.username == "bea"))
    users.add("bea", PASSWORD, Role.AGENT, "PJSIP/1001", display_name="Bea Brandt", site="b")
    yield
    with users.sessions.begin() as s:
        s.execute(delete(User).where(User.username == "bea"))


def marker(client: TestClient, app: Any) -> None:
    """A message to every socket: what a socket receives before it was sent to it first."""
    client.portal.call(lambda: app.state.services.hub.publish(MARK, {}, ALL))  # type: ignore[union-attr]


def types_until_marker(ws: Any) -> list[str]:
    seen: list[str] = []
    while (kind := ws.receive_json()["type"]) != MARK:
        seen.append(kind)
    return seen


def test_a_user_of_another_site_gets_no_pop_for_this_sites_phone_of_the_same_name(
        app: Any, client: TestClient, login: Any, bea: None) -> None:
    anna, bea_ = login("anna"), login("bea")
    with anna.ws() as wa, bea_.ws() as wb:
        first = [w.receive_json() for w in (wa, wb)]
        assert [m["type"] for m in first] == ["snapshot", "snapshot"]
        joined = snap()
        publish(client, app, ev.CallUpdated(T0, ev.CallChange.JOINED, joined),
                ev.CallUpdated(T0, ev.CallChange.RINGING, replace(joined, ringing_agents=("PJSIP/1001",))))
        assert until(wa, "call.ringing")["data"]["linkedid"] == joined.linkedid  # main's PJSIP/1001: anna
        marker(client, app)
        assert "call.ringing" not in types_until_marker(wa)
        assert types_until_marker(wb) == []  # bea: nothing of main's PJSIP/1001
        since = first[1]["seq"]
    with bea_.ws(f"/ws?since={since}") as wb:  # reconnecting: no replay of it either
        marker(client, app)
        assert types_until_marker(wb) == []
    with bea_.ws() as wb:  # nor in a fresh snapshot while it still rings
        data = wb.receive_json()["data"]
        assert (data["ringing"], data["agent"], data["current_call"]) == ([], None, None)
    with anna.ws() as wa:
        assert [p["linkedid"] for p in wa.receive_json()["data"]["ringing"]] == [joined.linkedid]


def test_the_snapshot_tells_a_user_of_another_site_where_their_phone_is(
        client: TestClient, login: Any, bea: None) -> None:
    snapshots = {}
    for name in ("anna", "bea", "sven"):
        with login(name).ws() as w:
            snapshots[name] = w.receive_json()["data"]
    assert snapshots["bea"]["phone_elsewhere"] == BEA_NOTICE
    assert snapshots["bea"]["site"] == "main" and snapshots["bea"]["user"]["site"] == "b"
    assert snapshots["anna"]["phone_elsewhere"] is None and snapshots["sven"]["phone_elsewhere"] is None
    # a supervisor's wallboard names main's PJSIP/1001 after main's user, never b's
    assert snapshots["sven"]["agent_names"]["PJSIP/1001"] == "anna"
    for lang, table in catalog().items():  # German and English, naming both sites
        text = table["console.phone_elsewhere"]
        assert "{server_site}" in text and "{phone_site}" in text, lang
    # the console has a place for it, filled from the snapshot in the user's language
    page = render_pages()["/console"]
    assert 'id="site-notice"' in page and 'role="alert"' in page
    script = (Path(agent_console.__file__).parent / "static" / "console.js").read_text(encoding="utf-8")
    assert 'showPhoneElsewhere(d.phone_elsewhere)' in script and 'hl.t("console.phone_elsewhere", away)' in script


def test_a_user_of_another_site_has_no_phone_actions_here(app: Any, login: Any, bea: None) -> None:
    pbx = with_bridge(app, RecordingBridge())
    answered_by_anna(pbx)
    bea_ = login("bea")
    for path, body in (("/api/agent/pause", {"reason": "lunch"}), ("/api/agent/unpause", None),
                       ("/api/agent/wrap-up", None), ("/api/agent/queue-login", None),
                       ("/api/agent/queue-logout", None), ("/api/agent/dial", {"number": "1002"}),
                       (f"/api/calls/{LID}/transfer", {"target": "1002"}), ("/api/callbacks/1/call", None)):
        r = bea_.send("POST", path, json=body)
        assert r.status_code == 409 and r.json()["code"] == "phone_elsewhere", (path, r.text)
        assert (r.json()["server_site"], r.json()["phone_site"]) == ("main", "b")
    assert pbx.sent == []  # nothing reached main's Asterisk
    r = login("anna").send("POST", "/api/agent/pause", json={"reason": "lunch"})
    assert r.status_code == 200 and pbx.sent[0][1]["Interface"] == "PJSIP/1001", r.text


def test_this_sites_calls_and_directory_are_not_another_sites_agent(app: Any, login: Any, bea: None) -> None:
    recorder = TicketService(app.state.services.desk.sessions)
    updates = answered_call("+4934125385555", agent="PJSIP/1001")  # main's PJSIP/1001: anna
    created = [recorder.handle(update_) for update_ in updates][0]
    assert created is not None
    linkedid = updates[0].call.linkedid
    anna, bea_ = login("anna"), login("bea")
    assert anna.get(f"/api/calls/{linkedid}").status_code == 200
    assert bea_.get(f"/api/calls/{linkedid}").status_code == 404
    # the call's ticket is anna's (the agent on its call), not bea's
    assert anna.get(f"/api/tickets/{created.ticket_id}").status_code == 200
    assert bea_.get(f"/api/tickets/{created.ticket_id}").status_code == 404
    assert created.ticket_id not in {t["id"] for t in bea_.get("/api/tickets").json()}
    assert created.ticket_id in {t["id"] for t in anna.get("/api/tickets").json()}
    assert [c["linkedid"] for c in bea_.get("/api/calls").json()] == []
    assert linkedid in [c["linkedid"] for c in anna.get("/api/calls").json()]
    with_bridge(app, RecordingBridge())
    agents = {a["username"]: a["site"] for a in anna.get("/api/directory").json()["agents"]}
    assert agents == {"anna": "main", "bert": "main"}  # a transfer goes through main's Asterisk


def test_the_rule_both_ways() -> None:
    from tickets.users import UserView

    bea_ = UserView(1, "bea", "Bea", Role.AGENT, "PJSIP/1001", (), "de", site="b")
    sven = UserView(2, "sven", "Sven", Role.SUPERVISOR, None, (), "de")
    assert (local_endpoint(bea_, "b"), local_endpoint(bea_, "main"), local_endpoint(sven, "main")) == (
        "PJSIP/1001", None, None)
    assert (elsewhere(bea_, "b"), elsewhere(bea_, "main"), elsewhere(sven, "b")) == (None, BEA_NOTICE, None)
    assert own_endpoint(bea_, "b") == "PJSIP/1001"
    for user, code in ((bea_, "phone_elsewhere"), (sven, "no_endpoint")):
        with pytest.raises(Exception) as refused:
            own_endpoint(user, "main")
        assert (getattr(refused.value, "status_code", None), getattr(refused.value, "code", None)) == (409, code)
