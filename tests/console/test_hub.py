"""The hub's audiences, without sockets: who gets a message, and that the endpoint
and role index follows attach/detach/drop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agent_console.hub import ALL, SUPERVISORS_ONLY, Client, Hub, agents, encode


def _client(name: str, endpoint: str | None = None, supervisor: bool = False) -> Client:
    return Client(user_id=hash(name) & 0xFFFF, username=name, endpoint=endpoint, supervisor=supervisor)


def _got(client: Client) -> list[str]:
    out = []
    while not client.queue.empty():
        msg = client.queue.get_nowait()
        out.append(msg.type if msg is not None else "closed")
    return out


def test_each_audience_reaches_exactly_its_clients() -> None:
    async def go() -> None:
        hub = Hub()
        anna_tab1, anna_tab2 = _client("anna", "PJSIP/1001"), _client("anna", "PJSIP/1001")
        bert, sven = _client("bert", "PJSIP/1002"), _client("sven", supervisor=True)
        lead = _client("lead", "PJSIP/1009", supervisor=True)  # a supervisor with a phone
        everyone = [anna_tab1, anna_tab2, bert, sven, lead]
        for c in everyone:
            assert hub.attach(c, None) is None
        hub.publish("call.ringing", {}, agents("PJSIP/1001"))
        hub.publish("agent.state", {}, agents("PJSIP/1002", supervisors=True))
        hub.publish("queue.updated", {}, SUPERVISORS_ONLY)
        hub.publish("notice", {}, ALL)
        hub.publish("call.ringing", {}, agents("PJSIP/1009", "PJSIP/7777"))
        assert _got(anna_tab1) == _got(anna_tab2) == ["call.ringing", "notice"]
        assert _got(bert) == ["agent.state", "notice"]
        assert _got(sven) == ["agent.state", "queue.updated", "notice"]
        assert _got(lead) == ["agent.state", "queue.updated", "notice", "call.ringing"]  # once, not twice

        hub.detach(anna_tab1)
        hub.drop(sven)
        hub.publish("call.ringing", {}, agents("PJSIP/1001", supervisors=True))
        assert _got(anna_tab1) == [] and _got(anna_tab2) == ["call.ringing"]
        assert _got(sven) == ["closed"] and _got(lead) == ["call.ringing"]
        assert hub.clients == 3 and hub.dropped_clients == 1
        # a reconnect replays only what this client may see
        missed = hub.attach(anna_tab1, 0)
        assert missed is not None
        assert [m.type for m in missed] == ["call.ringing", "notice", "call.ringing"]

    asyncio.run(go())


def test_a_message_is_encoded_once_for_its_whole_audience(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[object] = []

    def counting(wire: dict[str, Any]) -> str:
        calls.append(wire)
        return encode(wire)

    monkeypatch.setattr("agent_console.hub.encode", counting)  # what Hub.publish encodes with

    async def go() -> None:
        hub = Hub()
        clients = [_client(f"sup{i}", supervisor=True) for i in range(50)]
        for c in clients:
            hub.attach(c, None)
        msg = hub.publish("queue.updated", {"waiting": ["Ünal <b>"]}, SUPERVISORS_ONLY)
        assert len(calls) == 1
        assert json.loads(msg.text) == {"seq": msg.seq, "type": "queue.updated", "data": {"waiting": ["Ünal <b>"]}}
        got = [c.queue.get_nowait() for c in clients]
        assert all(m is msg for m in got)  # the same text object for all 50, and for a replay
        assert hub.attach(_client("late", supervisor=True), msg.seq - 1) == [msg]

    asyncio.run(go())


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=20))
_keys = st.one_of(st.text(max_size=8), st.integers(0, 99))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)), max_leaves=20)


@given(_values)
@settings(max_examples=300, deadline=None)
def test_a_message_is_the_text_the_standard_library_would_make(data: Any) -> None:
    """hub.encode runs orjson; the wire text stays what json.dumps (Starlette's send_json)
    made: compact, non-ASCII kept, control characters escaped, int keys as strings."""
    wire = {"seq": 1, "type": "t", "data": data}
    assert encode(wire) == json.dumps(wire, separators=(",", ":"), ensure_ascii=False)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_reads_back_as_the_same_number(x: float) -> None:
    assert json.loads(encode({"data": x}))["data"] == x  # 1e16 is "1e16", not "1e+16": the same number


def test_what_orjson_refuses_is_encoded_as_before() -> None:
    odd = {"name": "\ud800", "big": 2**70}  # a lone surrogate (json.loads lets one in), an int beyond 64 bits
    assert encode(odd) == json.dumps(odd, separators=(",", ":"), ensure_ascii=False)


def test_the_replay_buffer_keeps_only_the_newest_of_messages_that_replace_each_other() -> None:
    hub = Hub(buffer=6)
    first = hub.publish("queue.updated", {"n": 1}, SUPERVISORS_ONLY, replaces="queue.updated hotline")
    hub.publish("queue.updated", {"n": 1}, SUPERVISORS_ONLY, replaces="queue.updated 2nd-level")
    hub.publish("agent.state", {"n": 1}, SUPERVISORS_ONLY)
    hub.publish("queue.updated", {"n": 2}, SUPERVISORS_ONLY, replaces="queue.updated hotline")
    hub.publish("agent.state", {"n": 2}, SUPERVISORS_ONLY)
    newest = hub.publish("queue.updated", {"n": 3}, SUPERVISORS_ONLY, replaces="queue.updated hotline")
    missed = hub.attach(_client("sven", supervisor=True), first.seq)
    assert missed is not None  # in order, each queue's newest view, nothing else left out
    assert [(m.type, m.data["n"]) for m in missed] == [("queue.updated", 1), ("agent.state", 1),
                                                      ("agent.state", 2), ("queue.updated", 3)]
    assert missed[-1] is newest
    for n in range(4, 20):  # one key, many times: the buffer holds one of them, not its bound's worth
        hub.publish("queue.updated", {"n": n}, SUPERVISORS_ONLY, replaces="queue.updated hotline")
    again = hub.attach(_client("sven", supervisor=True), newest.seq - 1)
    assert again is not None and [(m.type, m.data["n"]) for m in again] == [("queue.updated", 19)]
    assert len(hub._buffer) == 4  # queue.updated 2nd-level, two agent.state, queue.updated hotline 19
