"""The console's wrap-up control over HTTP: POST /api/agent/wrap-up ("more time") is a
QueuePause with the wrap-up reason on the agent's own endpoint, /api/agent/unpause
("ready") ends it; the agent's state carries Asterisk's remaining wrap-up time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_console import views
from cti import events as ev
from cti.actions import ActionResult
from cti.calls import CallRegistry
from cti.connection import AmiError


class RecordingBridge:
    """Stands in for the AMI bridge: connected, records every action it is asked to send."""

    def __init__(self, refuse: bool = False) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.registry, self.connected, self.refuse = CallRegistry(), True, refuse

    async def send(self, name: str, fields: dict[str, str]) -> ActionResult:
        if self.refuse:
            raise AmiError(f"{name}: Interface not found")
        self.sent.append((name, dict(fields)))
        return ActionResult("Interface paused successfully")

    async def close(self) -> None:
        pass


def with_bridge(app: Any, bridge: RecordingBridge) -> RecordingBridge:
    """The app's way to the PBX."""
    app.state.services.pbx = bridge
    return bridge


def test_more_time_pauses_the_agents_own_endpoint_with_the_wrap_up_reason(app: Any, login: Any) -> None:
    pbx = with_bridge(app, RecordingBridge())
    anna = login("anna")
    r = anna.send("POST", "/api/agent/wrap-up")
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "QueuePause"
    assert pbx.sent == [("QueuePause", {"Interface": "PJSIP/1001", "Queue": "hotline", "Paused": "true",
                                        "Reason": "wrap-up"})]
    # a body cannot redirect it to someone else's phone or another reason
    anna.send("POST", "/api/agent/wrap-up", json={"interface": "PJSIP/1002", "reason": "x\r\nAction: Hangup"})
    assert pbx.sent[-1][1]["Interface"] == "PJSIP/1001" and pbx.sent[-1][1]["Reason"] == "wrap-up"
    login("bert").send("POST", "/api/agent/wrap-up")
    assert pbx.sent[-1][1]["Interface"] == "PJSIP/1002"
    # ready: the ordinary unpause of the same endpoint
    assert anna.send("POST", "/api/agent/unpause").status_code == 200
    assert pbx.sent[-1] == ("QueuePause", {"Interface": "PJSIP/1001", "Queue": "hotline", "Paused": "false"})


def test_wrap_up_refusals_are_4xx_or_503_never_500(app: Any, login: Any) -> None:
    anna = login("anna")
    assert anna.send("POST", "/api/agent/wrap-up", csrf=False).status_code == 403
    assert anna.send("POST", "/api/agent/wrap-up", headers={"X-CSRF-Token": "forged"}).status_code == 403
    r = anna.send("POST", "/api/agent/wrap-up")  # no PBX connected
    assert r.status_code == 503 and "PBX" in r.json()["detail"]
    pbx = with_bridge(app, RecordingBridge())
    r = login("sven").send("POST", "/api/agent/wrap-up")  # a supervisor without a phone
    assert r.status_code == 409 and "endpoint" in r.json()["detail"]
    assert anna.get("/api/agent/wrap-up").status_code == 405
    assert pbx.sent == []  # none of the refused requests reached the PBX
    pbx.connected = False
    assert anna.send("POST", "/api/agent/wrap-up").status_code == 503
    with_bridge(app, RecordingBridge(refuse=True))
    r = anna.send("POST", "/api/agent/wrap-up")  # Asterisk: not a member of the queue
    assert r.status_code == 409 and r.json()["code"] == "not_in_queue"


def test_the_wrap_up_route_needs_a_session(client: Any) -> None:
    assert client.post("/api/agent/wrap-up", headers={"Origin": "http://testserver"}).status_code == 401


def test_the_console_snapshot_carries_asterisks_remaining_wrap_up(app: Any, login: Any) -> None:
    pbx = with_bridge(app, RecordingBridge())
    now = datetime.now(UTC)
    app.state.services.clock = lambda: now  # the snapshot's time, whatever the login costs under load
    ended = now - timedelta(seconds=2)
    for e in (ev.QueueWrapUpTime(at=ended, queue="hotline", seconds=30),
              ev.AgentLoggedIn(at=ended, agent="PJSIP/1001", member_name="anna", queue="hotline",
                               paused=False, pause_reason=""),
              ev.MemberSnapshot(at=ended, agent="PJSIP/1001", member_name="anna", queue="hotline",
                                in_call=False, available=True, registered=True, paused=False,
                                pause_reason="", last_call=ended)):
        pbx.registry.apply(e, ended)
    with login("anna").ws() as ws:
        agent = ws.receive_json()["data"]["agent"]
    assert agent["state"] == "wrap_up" and not agent["extended_wrap_up"]
    assert agent["wrapup_remaining_seconds"] == pytest.approx(28)  # 30 s from the call's end, 2 s ago


def test_agent_json_tells_extended_wrap_up_from_other_pauses() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def snap(state: ev.AgentState, reason: str, until: datetime | None) -> dict[str, Any]:
        return views.agent_json(ev.AgentSnapshot(agent="PJSIP/1001", member_name="anna", state=state,
                                                 pause_reason=reason, since=now, queues=("hotline",),
                                                 linkedid=None, wrapup_until=until), now)

    assert snap(ev.AgentState.PAUSED, "wrap-up", None)["extended_wrap_up"] is True
    assert snap(ev.AgentState.PAUSED, "lunch", None)["extended_wrap_up"] is False
    assert snap(ev.AgentState.WRAP_UP, "", now + timedelta(seconds=4))["wrapup_remaining_seconds"] == 4
    assert snap(ev.AgentState.WRAP_UP, "", None)["wrapup_remaining_seconds"] is None  # length unknown
    assert snap(ev.AgentState.AVAILABLE, "", now + timedelta(seconds=4))["wrapup_remaining_seconds"] is None
