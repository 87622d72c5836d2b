"""POST /api/calls/{linkedid}/transfer takes the agent's own leg from the call registry
(AgentConnect's DestChannel, kept by cti.calls): no channel listing, no AMI fields in
the route; once that leg is gone (transferred, or the agent's part ended) it is a 409."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cti import events as ev
from tests.console.test_wrapup_api import RecordingBridge, with_bridge

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LID = "1700000200.1"


def answered_by_anna(pbx: RecordingBridge) -> None:
    for event in (ev.CallerJoinedQueue(at=AT, linkedid=LID, uniqueid=LID, channel="PJSIP/trunk-00000001",
                                       queue="hotline", caller_raw="034125385555", caller_name="Erika", position=1),
                  ev.CallAnswered(at=AT, linkedid=LID, queue="hotline", agent="PJSIP/1001", member_name="1001",
                                  wait_seconds=4, ring_seconds=2, agent_channel="PJSIP/1001-0000000a")):
        pbx.registry.apply(event, AT)


def test_transfer_moves_the_caller_from_the_agents_leg_the_registry_keeps(app: Any, login: Any) -> None:
    pbx = with_bridge(app, RecordingBridge())
    answered_by_anna(pbx)
    anna, bert = login("anna"), login("bert")
    path = f"/api/calls/{LID}/transfer"
    assert bert.send("POST", path, json={"target": "1001"}).status_code == 409  # not his call
    assert anna.send("POST", path, json={"target": "1002\r\nAction: Hangup"}).status_code == 422
    r = anna.send("POST", path, json={"target": "1002"})
    assert r.status_code == 200 and r.json()["action"] == "BlindTransfer", r.text
    assert pbx.sent == [("BlindTransfer", {"Channel": "PJSIP/1001-0000000a", "Exten": "1002", "Context": "agents"})]
    pbx.registry.apply(ev.CallTransferred(at=AT, linkedid=LID, target="1002", by_agent="PJSIP/1001", blind=True), AT)
    r = anna.send("POST", path, json={"target": "hotline"})  # her leg left with the transfer
    assert r.status_code == 409 and "agent channel is gone" in r.json()["detail"], r.text
    assert len(pbx.sent) == 1


def test_transfer_after_the_agents_part_ended_is_refused_before_the_pbx(app: Any, login: Any) -> None:
    pbx = with_bridge(app, RecordingBridge())
    answered_by_anna(pbx)
    pbx.registry.apply(ev.CallCompleted(at=AT, linkedid=LID, queue="hotline", agent="PJSIP/1001", wait_seconds=4,
                                        talk_seconds=30, completed_by=ev.CompletedBy.AGENT), AT)
    r = login("anna").send("POST", f"/api/calls/{LID}/transfer", json={"target": "1002"})
    assert r.status_code == 409 and "agent channel is gone" in r.json()["detail"], r.text
    assert pbx.sent == []


def test_directory_lists_agents_with_their_state_queues_and_external(app: Any, login: Any) -> None:
    pbx = with_bridge(app, RecordingBridge())
    answered_by_anna(pbx)
    d = login("bert").get("/api/directory").json()
    agents = {a["username"]: a for a in d["agents"]}
    assert set(agents) == {"anna", "bert"}  # users with an endpoint only
    assert agents["anna"] == {"username": "anna", "display_name": "anna", "endpoint": "PJSIP/1001",
                              "site": "main", "partner": "in-house", "state": "on_call"}
    assert agents["bert"]["state"] == "unknown"  # the agent board has not seen him
    assert d["queues"] == [{"name": "hotline", "label": "hotline (5555)"}]
    assert d["external_allowed"] is False  # the default allow-list: 10XX,5555


def test_a_target_outside_the_directory_is_refused_before_the_pbx(app: Any, login: Any) -> None:
    pbx = with_bridge(app, RecordingBridge())
    answered_by_anna(pbx)
    anna, path = login("anna"), f"/api/calls/{LID}/transfer"
    for target, code in (("12", "transfer_target_unknown"), ("1099", "transfer_target_unknown"),
                         ("nobody", "transfer_target_unknown"), ("+49 341 999", "transfer_target_not_allowed"),
                         ("0341 999", "transfer_target_not_allowed"), ("1001", "transfer_to_self"),
                         ("anna", "transfer_to_self"), ("pjsip/1001", "transfer_to_self")):
        r = anna.send("POST", path, json={"target": target})
        assert r.status_code == 422 and r.json()["code"] == code, (target, r.text)
    assert pbx.sent == []
    for target, exten in (("bert", "1002"), ("PJSIP/1002", "1002"), ("hotline", "5555"), ("5555", "5555")):
        r = anna.send("POST", path, json={"target": target})
        assert r.status_code == 200, (target, r.text)
        assert pbx.sent[-1][1]["Exten"] == exten


def test_external_numbers_on_the_allow_list_are_transfer_targets(app: Any, login: Any) -> None:
    app.state.services.settings.dial_allow = "10XX,5555,0[1-9]X."  # as HOTLINE_DIAL_ALLOW would
    pbx = with_bridge(app, RecordingBridge())
    answered_by_anna(pbx)
    anna = login("anna")
    assert anna.get("/api/directory").json()["external_allowed"] is True
    r = anna.send("POST", f"/api/calls/{LID}/transfer", json={"target": "0341 2538-1234"})
    assert r.status_code == 200 and pbx.sent[-1][1]["Exten"] == "034125381234", r.text
    r = anna.send("POST", f"/api/calls/{LID}/transfer", json={"target": "+49 341 1"})
    assert r.json()["code"] == "transfer_target_not_allowed"
