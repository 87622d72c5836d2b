"""Joining and leaving the queue are idempotent for the agent, and pausing outside the queue
says why: Asterisk's refusals (texts as Asterisk 22.10 sends them, measured against the
demo) are not shown as "the PBX does not answer"."""

from __future__ import annotations

from typing import Any

from cti.actions import ActionResult
from cti.calls import CallRegistry
from cti.connection import AmiError


class RefusingBridge:
    """Connected; answers each action with Asterisk's refusal text for it, or success."""

    def __init__(self, refusals: dict[str, str]) -> None:
        self.registry, self.connected, self.refusals = CallRegistry(), True, refusals
        self.sent: list[str] = []

    async def send(self, name: str, fields: dict[str, str]) -> ActionResult:
        self.sent.append(name)
        if name in self.refusals:
            raise AmiError(f"{name}: {self.refusals[name]}")
        return ActionResult("ok")

    async def close(self) -> None:
        pass


def test_joining_twice_and_leaving_twice_are_done_already(app: Any, login: Any) -> None:
    app.state.services.pbx = RefusingBridge({"QueueAdd": "Unable to add interface: Already there",
                                             "QueueRemove": "Unable to remove interface: Not there"})
    anna = login("anna")
    r = anna.send("POST", "/api/agent/queue-login")
    assert r.status_code == 200 and r.json()["already"] is True
    r = anna.send("POST", "/api/agent/queue-logout")
    assert r.status_code == 200 and r.json()["already"] is True


def test_pausing_outside_the_queue_is_a_409_that_says_so(app: Any, login: Any) -> None:
    app.state.services.pbx = RefusingBridge({"QueuePause": "Interface not found"})
    r = login("anna").send("POST", "/api/agent/pause", json={"reason": "lunch"})
    assert r.status_code == 409 and r.json()["code"] == "not_in_queue"


def test_other_refusals_stay_a_502(app: Any, login: Any) -> None:
    app.state.services.pbx = RefusingBridge({"QueueAdd": "Unable to add interface to queue: No such queue"})
    r = login("anna").send("POST", "/api/agent/queue-login")
    assert r.status_code == 502 and "QueueAdd" in r.json()["detail"]
