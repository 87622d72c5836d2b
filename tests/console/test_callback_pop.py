"""The pop of a callback call: hotline rings the agent's phone first (an Originate, no
queue), so the dispatcher's CallbackRinging is what the notifier pops, with the
`callback` marker (id, how long the caller waited before asking, the ticket)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from agent_console.pops import callback_pop
from cti import events as ev
from tests.console.test_pop_phases import (
    T0,
    TICKETS,
    Rig,
    SlowHistory,
    SlowMatch,
    _call,
    _run,
    _seen,
    agent_updated,
    late_match_follows,
    matched,
    seen_soon,
)

RINGING = ev.CallbackRinging(at=T0, callback_id=42, agent="PJSIP/1001", caller_raw="0341 2538-5555",
                             caller_number="+4934125385555", caller_name="<b>Erika</b>", waited_seconds=95.0,
                             ticket_id=7)


async def _send(rig: Rig, event: object) -> None:
    rig.notifier._inbox.put_nowait(event)  # type: ignore[arg-type]
    await rig.notifier.drain()


def test_the_callback_pops_at_the_agent_rung_with_the_marker_the_wait_and_the_ticket() -> None:
    async def test(rig: Rig) -> None:
        await _send(rig, RINGING)
        [(kind, pop)] = _seen(rig.anna)
        assert kind == "call.ringing"
        assert pop["callback"] == {"id": 42, "waited_seconds": 95.0, "ticket_id": 7}
        assert pop["linkedid"] == "callback-42" and pop["ticket_id"] == 7 and pop["site"] == "main"
        assert pop["caller"] == {"number": "+4934125385555", "raw": "0341 2538-5555", "name": "<b>Erika</b>",
                                 "display": "+49 341 25385555"}
        assert pop["match"]["contact"]["name"] == "Erika"  # looked up like any caller
        json.dumps(pop)  # what goes over the WebSocket
        assert _seen(rig.bert) == []  # only the agent whose phone rings
        # a reloaded console gets the callback pop back while it rings
        assert rig.notifier.book.ringing_for("PJSIP/1001")[0]["callback"]["id"] == 42

    _run(test)


def test_a_caller_not_reached_withdraws_the_pop_and_one_who_answered_keeps_it() -> None:
    async def test(rig: Rig) -> None:
        await _send(rig, RINGING)
        _seen(rig.anna)
        await _send(rig, ev.CallbackDialed(T0 + timedelta(seconds=20), 42, "NOANSWER"))
        assert _seen(rig.anna) == [("call.withdrawn", {"linkedid": "callback-42", "reason": "callback_not_reached",
                                                       "site": "main"})]
        assert rig.notifier.book.ringing_for("PJSIP/1001") == []
        await _send(rig, RINGING)
        _seen(rig.anna)
        await _send(rig, ev.CallbackDialed(T0 + timedelta(seconds=20), 42, "ANSWER"))
        [(kind, call)] = _seen(rig.anna)  # the agent talks to the caller: the console shows the conversation
        assert kind == "call.answered" and call["agent"] == "PJSIP/1001" and call["linkedid"] == "callback-42"
        assert call["answered_at"] == (T0 + timedelta(seconds=20)).isoformat() and call["ended_at"] is None
        assert call["ticket_id"] == 7 and call["callback"] == {"id": 42, "waited_seconds": 95.0, "ticket_id": 7}
        assert call["caller"]["name"] == "<b>Erika</b>"
        json.dumps(call)
        # a console reloaded now gets the conversation back as its current call
        assert rig.notifier.talking_for("PJSIP/1001") == {k: v for k, v in call.items() if k != "site"}
        assert rig.notifier.talking_for("PJSIP/1002") is None
        assert rig.notifier.book.ringing_for("PJSIP/1001") == []
        await _send(rig, ev.CallbackDialed(T0, 99, "BUSY"))  # not one of ours
        assert _seen(rig.anna) == []

    _run(test)


def test_a_failed_lookup_still_pops_the_callback() -> None:
    class Broken(SlowHistory):
        def match_pops(self, callers_raw: list[str]) -> list[dict[str, Any]]:
            raise OSError("database down")

    async def go() -> None:
        rig = Rig(Broken())
        rig.notifier.start()
        try:
            await _send(rig, RINGING)
            [(kind, pop)] = _seen(rig.anna)
            assert kind == "call.ringing" and pop["callback"]["id"] == 42
            assert pop["match"]["error"] == "customer lookup unavailable"
            assert "callback-42" not in rig.notifier.lookups._lookups  # no history asked of a failed database
        finally:
            await rig.notifier.close()

    asyncio.run(go())


def test_the_pop_of_an_unknown_wait_says_none() -> None:
    pop = callback_pop(ev.CallbackRinging(T0, 5, "PJSIP/1002", "", "+4934125385555", "", None, None), {})
    assert pop["callback"] == {"id": 5, "waited_seconds": None, "ticket_id": None}
    assert pop["caller"]["number"] == "+4934125385555"


def test_an_agent_who_does_not_answer_the_callbacks_ring_loses_the_pop() -> None:
    """No HotlineCallbackResult comes then: the phone rang (busy) and is free again."""
    async def test(rig: Rig) -> None:
        await _send(rig, RINGING)
        _seen(rig.anna)
        await _send(rig, agent_updated("PJSIP/1001", ev.AgentState.AVAILABLE))  # not busy yet: the ring may be coming
        await _send(rig, agent_updated("PJSIP/1002", ev.AgentState.ON_CALL))  # someone else
        await _send(rig, agent_updated("PJSIP/1001", ev.AgentState.ON_CALL))  # the phone rings
        assert [k for k, _ in _seen(rig.anna)] == ["agent.state", "agent.state"]
        await _send(rig, agent_updated("PJSIP/1001", ev.AgentState.AVAILABLE))  # and stopped, unanswered
        withdrawn, state = _seen(rig.anna)
        assert withdrawn == ("call.withdrawn", {"linkedid": "callback-42", "reason": "no_answer", "site": "main"})
        assert state[0] == "agent.state"
        assert rig.notifier.book.ringing_for("PJSIP/1001") == []
        await _send(rig, RINGING)
        _seen(rig.anna)
        await _send(rig, agent_updated("PJSIP/1001", ev.AgentState.PAUSED))  # paused while it rang
        assert [k for k, _ in _seen(rig.anna)] == ["call.withdrawn", "agent.state"]
        await _send(rig, RINGING)
        _seen(rig.anna)
        await _send(rig, agent_updated("PJSIP/1001", ev.AgentState.ON_CALL))
        await _send(rig, ev.CallbackDialed(T0, 42, "ANSWER"))  # the caller answered
        await _send(rig, agent_updated("PJSIP/1001", ev.AgentState.ON_CALL))  # still talking: nothing ends
        await _send(rig, agent_updated("PJSIP/1001", ev.AgentState.WRAP_UP))  # the callback call is over
        seen = _seen(rig.anna)
        assert [k for k, _ in seen] == ["agent.state", "call.answered", "agent.state", "call.ended", "agent.state"]
        ended = seen[3][1]
        assert rig.notifier.talking_for("PJSIP/1001") is None  # over: a reload shows no call
        assert ended["linkedid"] == "callback-42" and ended["ended_at"] is not None and ended["ticket_id"] == 7
        await _send(rig, agent_updated("PJSIP/1001", ev.AgentState.AVAILABLE))  # once only
        assert [k for k, _ in _seen(rig.anna)] == ["agent.state"]

    _run(test)



def test_the_callback_pop_is_followed_by_the_callers_past_without_itself() -> None:
    """Like a queue call's pop: open tickets, recent calls and the number's open callback
    items follow as call.enriched; the item being called back is not among them."""
    class WithCallbacks(SlowHistory):
        def history(self, match: dict[str, Any]) -> dict[str, Any]:
            return {**super().history(match), "callbacks": [{"id": 41, "reason": "abandoned"},
                                                            {"id": 42, "reason": "callback"}]}

    async def go() -> None:
        rig = Rig(WithCallbacks())
        rig.notifier.start()
        try:
            await _send(rig, RINGING)
            [(kind, pop)] = _seen(rig.anna)
            assert kind == "call.ringing" and pop["open_tickets"] == [] and pop["enriched"] is False
            await rig.history_done()
            [(kind, extra)] = _seen(rig.anna)
            assert kind == "call.enriched" and extra["linkedid"] == "callback-42"
            assert extra["open_tickets"] == TICKETS
            assert extra["callbacks"] == [{"id": 41, "reason": "abandoned"}]
            assert _seen(rig.bert) == []
            # a reloaded console gets the enriched callback pop back
            assert rig.notifier.book.ringing_for("PJSIP/1001")[0]["callbacks"] == [{"id": 41, "reason": "abandoned"}]
        finally:
            rig.enricher.release.set()
            await rig.notifier.close()

    asyncio.run(go())


def test_a_stuck_lookup_holds_the_callbacks_ring_a_bounded_time_and_no_other_pop(monkeypatch: Any) -> None:
    """The database hangs on the callback's match: the agent's phone still pops (match
    "pending") within MATCH_WAIT, a queue call ringing behind it is not held up, and the
    match follows as call.enriched once the database answers."""
    monkeypatch.setattr("agent_console.notifier.MATCH_WAIT", 0.05)

    async def go() -> None:
        rig = Rig(SlowMatch())
        rig.notifier.start()
        try:
            queued = _call(linkedid="9.9")
            await asyncio.wait_for(_send(rig, RINGING), 5)
            rig.notifier._inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.RINGING,  # type: ignore[arg-type]
                                                          replace(queued, ringing_agents=("PJSIP/1002",))))
            await asyncio.wait_for(rig.notifier.drain(), 5)
            [(kind, pop)] = _seen(rig.anna)
            assert kind == "call.ringing" and pop["callback"]["id"] == 42
            assert pop["match"]["status"] == "pending" and pop["match"]["contact"] is None
            [(kind, other)] = _seen(rig.bert)  # the queue call behind it rang too
            assert kind == "call.ringing" and other["linkedid"] == "9.9"
            seen = await late_match_follows(rig)  # the database answers
            assert {d["linkedid"] for _, d in seen} == {"callback-42"}
        finally:
            rig.enricher.matched.set()
            await rig.notifier.close()

    asyncio.run(go())


class SlowCallbackMatch(SlowMatch):
    """Queue callers are matched at once; the callback's caller only once `matched` is set."""

    def match_pops(self, callers_raw: list[str]) -> list[dict[str, Any]]:
        if RINGING.caller_raw in callers_raw:
            return super().match_pops(callers_raw)
        return SlowHistory.match_pops(self, callers_raw)


def test_a_callback_ring_waiting_for_its_match_holds_up_no_other_pop_and_keeps_its_agents_order() -> None:
    """The callback's ring waits (parked) for its caller's match while a queue call rings
    at once; the rung agent's states wait behind the callback's pop, so the phone seen
    busy and free again still withdraws it, in that order."""
    async def go() -> None:
        rig = Rig(SlowCallbackMatch())
        rig.notifier.start()
        try:
            queued = _call(linkedid="9.9", caller_raw="030 1234567")  # another caller
            await rig.send(ev.CallChange.JOINED, queued)  # its match is asked for now
            await matched(rig, "9.9")
            inbox = rig.notifier._inbox
            inbox.put_nowait(RINGING)
            inbox.put_nowait(agent_updated("PJSIP/1001", ev.AgentState.ON_CALL))  # anna's phone rings
            inbox.put_nowait(agent_updated("PJSIP/1001", ev.AgentState.AVAILABLE))  # and stops, unanswered
            inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.RINGING, replace(queued, ringing_agents=("PJSIP/1002",))))
            [(kind, other)] = await seen_soon(rig.bert)
            assert kind == "call.ringing" and other["linkedid"] == "9.9"  # not held up by the callback's lookup
            assert inbox.parked == {"callback-42"} and _seen(rig.anna) == []
            rig.enricher.matched.set()
            await asyncio.wait_for(rig.notifier.drain(), 5)
            seen = _seen(rig.anna)
            assert [kind for kind, _ in seen] == ["call.ringing", "call.withdrawn", "agent.state", "agent.state"]
            assert seen[0][1]["match"]["status"] == "known" and seen[0][1]["callback"]["id"] == 42
            assert seen[1][1]["reason"] == "no_answer"
            assert [d["state"] for k, d in seen[2:]] == ["on_call", "available"]
        finally:
            rig.enricher.matched.set()
            await rig.notifier.close()

    asyncio.run(go())
