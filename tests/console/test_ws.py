"""WebSocket hub through the real app: snapshot, pops only to the ringing agent,
withdrawal, supervisors' queue view, resume by seq, refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cti import events as ev
from tests.console.conftest import ORIGIN, settled_match
from tests.factories import call_snapshot

T0 = datetime.now(UTC) - timedelta(seconds=5)


def snap(linkedid: str = "1700000000.1", **kw: Any) -> ev.CallSnapshot:
    fields: dict[str, Any] = {"caller_raw": "0341 2538-5555", "caller_number": "+4934125385555",
                              "caller_name": '<script>alert("x")</script>', "entered_at": T0, **kw}
    return call_snapshot(linkedid, **fields)


def publish(client: TestClient, app: Any, *events: object) -> None:
    services = app.state.services

    async def go() -> None:
        for e in events:
            await services.bus.publish(e)
        await services.notifier.drain()

    client.portal.call(go)  # type: ignore[union-attr]


def until(ws: Any, type_: str, limit: int = 20) -> dict[str, Any]:
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == type_:
            return msg
    raise AssertionError(f"no {type_} message")


def test_anonymous_and_cross_origin_sockets_are_refused(client: TestClient, login: Any) -> None:
    with pytest.raises(WebSocketDisconnect) as anon:
        with client.websocket_connect("/ws", headers={"Origin": ORIGIN}) as ws:
            ws.receive_json()
    assert anon.value.code == 4401
    anna = login("anna")
    with pytest.raises(WebSocketDisconnect) as cross:
        with anna.ws(origin="https://evil.example") as ws:
            ws.receive_json()
    assert cross.value.code == 4403


def test_pop_reaches_only_the_ringing_agent_and_is_withdrawn(app: Any, client: TestClient, login: Any) -> None:
    anna, bert, sven = login("anna"), login("bert"), login("sven")
    anna.send("POST", "/api/customers", json={"name": "Erika Muster", "organization": "Stadtwerke",
                                               "phones": ["0341 2538-5555"]})
    with anna.ws() as wa, bert.ws() as wb, sven.ws() as ws:
        for w in (wa, wb, ws):
            assert w.receive_json()["type"] == "snapshot"
        joined = snap()
        publish(client, app, ev.CallUpdated(T0, ev.CallChange.JOINED, joined),
                ev.CallUpdated(T0, ev.CallChange.RINGING, replace(joined, ringing_agents=("PJSIP/1001",))))
        pop = until(wa, "call.ringing")["data"]
        assert pop["caller"]["name"] == '<script>alert("x")</script>'
        assert (pop["caller"]["number"], pop["caller"]["display"]) == ("+4934125385555", "+49 341 25385555")
        match = settled_match(wa, pop)
        assert match["status"] == "known" and match["contact"]["name"] == "Erika Muster"
        assert pop["position"] == 1 and pop["wait_seconds"] >= 4
        queue = until(ws, "queue.updated")["data"]
        assert queue["waiting_count"] == 1 and queue["waiting"][0]["linkedid"] == joined.linkedid
        assert queue["waiting"][0]["caller"]["display"] == "+49 341 25385555"
        # bert's phone never rang: bert sees the answer and its agent.state, never a pop
        answered = replace(joined, answered_at=T0 + timedelta(seconds=6), agent="PJSIP/1002",
                           ringing_agents=())
        publish(client, app, ev.CallUpdated(T0, ev.CallChange.ANSWERED, answered),
                ev.AgentUpdated(T0, ev.AgentSnapshot("PJSIP/1002", "bert", ev.AgentState.ON_CALL, "", T0,
                                                     ("hotline",), joined.linkedid)))
        assert until(wa, "call.withdrawn")["data"] == {"linkedid": joined.linkedid, "reason": "answered_elsewhere",
                                                     "site": "main"}
        # the answer's ticket.created may come before or after the agent.state (held until the
        # notifier's queue is quiet), so it is left out of the order that matters
        seen_by_bert = [wb.receive_json()["type"]]
        while seen_by_bert[-1] != "agent.state" and len(seen_by_bert) < 5:
            seen_by_bert.append(wb.receive_json()["type"])
        assert [t for t in seen_by_bert if t != "ticket.created"] == ["call.answered", "agent.state"]
        assert until(ws, "queue.updated")["data"]["waiting_count"] == 0


def test_reconnect_resumes_from_the_last_seq(app: Any, client: TestClient, login: Any) -> None:
    anna = login("anna")
    with anna.ws() as w:
        first = w.receive_json()
    assert first["type"] == "snapshot"
    call = snap("1700000000.9", ringing_agents=("PJSIP/1001",))
    publish(client, app, ev.CallUpdated(T0, ev.CallChange.RINGING, call))  # while anna is away
    with anna.ws(f"/ws?since={first['seq']}") as w:
        missed = w.receive_json()
    assert missed["type"] == "call.ringing" and missed["data"]["linkedid"] == call.linkedid
    assert missed["seq"] > first["seq"]
    with anna.ws("/ws?since=999999999") as w:  # unknown seq: a fresh snapshot that holds the pop
        fresh = w.receive_json()
    assert fresh["type"] == "snapshot"
    assert [p["linkedid"] for p in fresh["data"]["ringing"]] == [call.linkedid]
    assert "queues" not in fresh["data"]  # agents never get the supervisors' view


def test_a_slow_client_is_dropped_not_awaited(app: Any, client: TestClient, login: Any) -> None:
    sven = login("sven")
    hub = app.state.services.hub
    with sven.ws() as w:
        w.receive_json()
        def flood() -> None:  # on the server's loop, in one go: the hub is not thread-safe
            for i in range(400):  # more than a client's queue holds, without reading
                hub.publish("queue.updated", {"i": i})

        client.portal.call(flood)  # type: ignore[union-attr]
        assert hub.dropped_clients == 1
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                w.receive_json()
        assert closed.value.code == 4408


def test_pop_still_arrives_when_the_customer_lookup_fails(app: Any, client: TestClient, login: Any) -> None:
    anna = login("anna")

    def broken(_raw: str) -> dict[str, Any]:
        raise RuntimeError("database is down")

    app.state.services.notifier.enricher.match_pops = broken
    with anna.ws() as w:
        w.receive_json()
        call = snap("1700000000.5", ringing_agents=("PJSIP/1001",))
        publish(client, app, ev.CallUpdated(T0, ev.CallChange.RINGING, call))
        pop = until(w, "call.ringing")["data"]
        match = settled_match(w, pop)
    assert pop["linkedid"] == call.linkedid and match["status"] == "unknown"
    assert match["error"] == "customer lookup unavailable"
    assert pop["caller"]["number"] == "+4934125385555"


def test_the_wallboards_aht_counts_the_queues_wrapuptime(app: Any, client: TestClient, login: Any) -> None:
    sven = login("sven")
    done = replace(snap("1700000099.9"), answered_at=T0 + timedelta(seconds=3), agent="PJSIP/1001",
                   ended_at=T0 + timedelta(seconds=103), outcome=ev.Outcome.ANSWERED, wait_seconds=3.0,
                   ring_seconds=1.0, talk_seconds=100.0, duration_seconds=103.0)
    publish(client, app, ev.CallUpdated(T0, ev.CallChange.ENDED, done), ev.QueueWrapUpTime(T0, "hotline", None))
    with sven.ws() as ws:
        before = until(ws, "snapshot")["data"]["queues"][0]["today"]["aht_seconds"]
        publish(client, app, ev.QueueWrapUpTime(T0, "hotline", 30))
        # a view computed before the wrap-up time came may still be on its way (the wallboard
        # lets the pops go first): the one after it counts the 30 s
        seen = [until(ws, "queue.updated")["data"]["today"]["aht_seconds"]]
        while seen[-1] == before and len(seen) < 5:
            seen.append(until(ws, "queue.updated")["data"]["today"]["aht_seconds"])
    assert before is not None and seen[-1] == pytest.approx(before + 30), seen


def test_a_broadcast_is_sent_as_the_hubs_text_without_json_work_per_socket(
        app: Any, client: TestClient, login: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from agent_console import hub
    encoded: list[object] = []
    real, real_hub = json.dumps, hub.encode

    def counting(obj: Any, *args: Any, **kw: Any) -> str:
        if isinstance(obj, dict) and obj.get("type") == "test.broadcast":
            encoded.append(obj)
        return real(obj, *args, **kw)

    def counting_hub(wire: dict[str, Any]) -> str:  # the hub's own encoder (orjson)
        if wire.get("type") == "test.broadcast":
            encoded.append(wire)
        return real_hub(wire)

    sven = login("sven")
    with sven.ws() as a, sven.ws() as b, sven.ws() as c:
        for w in (a, b, c):
            assert w.receive_json()["type"] == "snapshot"
        monkeypatch.setattr(json, "dumps", counting)  # every module's json.dumps, Starlette's too
        monkeypatch.setattr(hub, "encode", counting_hub)
        client.portal.call(lambda: app.state.services.hub.publish("test.broadcast", {"n": 1}))  # type: ignore[union-attr]
        for w in (a, b, c):
            assert until(w, "test.broadcast")["data"] == {"n": 1}
    assert len(encoded) == 1


def test_the_snapshot_carries_server_time_display_names_and_the_live_service_level(
        app: Any, client: TestClient, login: Any) -> None:
    """The page runs its timers against `server_time` (learnt from the snapshot only),
    shows agents by the users' display names and SL "if answered now"."""
    sven, anna = login("sven"), login("anna")
    waiting = snap("1700000077.1", entered_at=datetime.now(UTC) - timedelta(seconds=40))
    publish(client, app, ev.AgentUpdated(T0, ev.AgentSnapshot("PJSIP/1001", "agent1001", ev.AgentState.PAUSED,
                                                              "lunch", T0, ("hotline",), None)),
            ev.CallUpdated(T0, ev.CallChange.JOINED, waiting))
    before = datetime.now(UTC)
    with sven.ws() as ws:
        data = until(ws, "snapshot")["data"]
    after = datetime.now(UTC)
    assert before <= datetime.fromisoformat(data["server_time"]) <= after
    assert data["agent_names"]["PJSIP/1001"] == "anna"  # the users table's display name (default: username)
    q = data["queues"][0]
    assert q["agents"][0]["agent"] == "PJSIP/1001" and q["agents"][0]["pause_reason"] == "lunch"
    row = q["waiting"][0]
    assert row["breached"] and row["expected_remaining_seconds"] is None  # nobody staffed: no estimate
    assert q["service_level_if_answered_now"] == 0.0  # the one caller would be answered late
    assert q["warn_margin_seconds"] == 5.0
    with anna.ws() as ws:
        mine = until(ws, "snapshot")["data"]
    assert "server_time" in mine and "agent_names" not in mine and "queues" not in mine


def test_a_console_reloaded_during_a_callback_gets_the_conversation_back(
        app: Any, client: TestClient, login: Any) -> None:
    """A callback passes no queue, so the registry has no call for it: the snapshot's
    current call is the answered callback the notifier holds, for that agent only."""
    ring = ev.CallbackRinging(T0, 42, "PJSIP/1001", "0341 2538-5555", "+4934125385555", "Erika", 95.0, 7)
    publish(client, app, ring, ev.CallbackDialed(T0 + timedelta(seconds=3), 42, "ANSWER"))
    with login("anna").ws() as w:
        current = until(w, "snapshot")["data"]["current_call"]
    assert current["linkedid"] == "callback-42" and current["ticket_id"] == 7
    assert current["callback"] == {"id": 42, "waited_seconds": 95.0, "ticket_id": 7}
    with login("bert").ws() as w:
        assert until(w, "snapshot")["data"]["current_call"] is None
