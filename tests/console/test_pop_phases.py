"""The two-phase pop, without sockets: the ring carries the caller and the match at
once; open tickets and recent calls follow as `call.enriched` when they were not
ready, and to one agent the order stays ringing -> (enriched) -> answered | withdrawn."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_console.hub import Client, Hub
from agent_console.notifier import PopNotifier
from agent_console.pops import PopEnricher
from cti import events as ev
from tickets.events import TicketUpdated
from tickets.visibility import Parties, Viewer

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TICKETS = [{"id": 7, "subject": "printer"}]
# ticket 7 is the team "drucker"'s, which anna and bert are both in (tickets.visibility)
PARTIES = {7: Parties(team="drucker")}


class SlowHistory(PopEnricher):
    """The match at once; the history only once `release` is set (on its worker thread)."""

    def __init__(self) -> None:  # no database: both phases are canned
        self.release = threading.Event()
        self.histories = 0

    def match_pops(self, callers_raw: list[str]) -> list[dict[str, Any]]:
        return [{"status": "known", "number": "+4934125385555", "contact": {"id": 1, "name": "Erika"},
                 "candidates": []} for _ in callers_raw]

    def history(self, match: dict[str, Any]) -> dict[str, Any]:
        assert self.release.wait(10), "the test never released the history"
        self.histories += 1
        return {"open_tickets": self.tickets, "recent_calls": self.calls, "parties": self.parties}

    tickets, calls, parties = TICKETS, list[dict[str, Any]](), PARTIES


@pytest.fixture(autouse=True)
def _match_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The canned match is instant; a loaded machine must not turn these rings into
    `pending` ones (the bounded wait has a test of its own below, with its own bound)."""
    monkeypatch.setattr("agent_console.notifier.MATCH_WAIT", 30.0)


def _call(**kw: Any) -> ev.CallSnapshot:
    base = ev.CallSnapshot(
        linkedid="1.1", caller_raw="0341 2538-5555", caller_number="+4934125385555", caller_name="Erika",
        queue="hotline", entered_at=T0, position=1, ringing_agents=(), answered_at=None, agent=None,
        ended_at=None, outcome=None, wait_seconds=None, ring_seconds=None, talk_seconds=None,
        duration_seconds=None, transferred_to=None)
    return replace(base, **kw)


def _seen(client: Client) -> list[tuple[str, dict[str, Any]]]:
    out = []
    while not client.queue.empty():
        msg = client.queue.get_nowait()
        assert msg is not None
        out.append((msg.type, msg.data))
    return out


class Rig:
    def __init__(self, enricher: SlowHistory) -> None:
        self.hub, self.enricher = Hub(), enricher
        self.notifier = PopNotifier(self.hub, enricher, lambda: T0 + timedelta(seconds=3))
        team = frozenset({"drucker"})
        self.anna = Client(1, "anna", "PJSIP/1001", False, team)
        self.bert = Client(2, "bert", "PJSIP/1002", False, team)
        for c in (self.anna, self.bert):
            self.hub.attach(c, None)

    async def send(self, change: ev.CallChange, call: ev.CallSnapshot, withdrawn: tuple[str, ...] = ()) -> None:
        self.notifier._inbox.put_nowait(ev.CallUpdated(T0, change, call, withdrawn_from=withdrawn))
        await self.notifier.drain()

    async def history_done(self) -> None:
        self.enricher.release.set()
        for _ in range(200):  # the worker thread, then its HistoryReady through the notifier
            await asyncio.sleep(0.01)
            await self.notifier.drain()
            if self.enricher.histories:
                await asyncio.sleep(0.01)
                await self.notifier.drain()
                return
        raise AssertionError("history never finished")


async def seen_until_history(rig: Rig, client: Client) -> list[tuple[str, dict[str, Any]]]:
    """What `client` gets until a message carries the open tickets (at most 5 s)."""
    seen: list[tuple[str, dict[str, Any]]] = []
    for _ in range(500):
        await asyncio.sleep(0.01)
        await rig.notifier.drain()
        seen += _seen(client)
        if seen and seen[-1][1]["open_tickets"]:
            break
    return seen


async def seen_soon(client: Client) -> list[tuple[str, dict[str, Any]]]:
    """What `client` gets, once it gets anything (waiting at most 5 s)."""
    for _ in range(500):
        await asyncio.sleep(0.01)
        if seen := _seen(client):
            return seen
    return []


async def matched(rig: Rig, *linkedids: str) -> None:
    """Until the calls' matches are there (their worker thread, at most 5 s)."""
    await rig.notifier.drain()
    for _ in range(500):
        found = [rig.notifier.lookups.get(lid) for lid in linkedids]
        if all(f is not None and f.match.done() for f in found):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the matches never came")


def _run(test: Any) -> None:
    async def go() -> None:
        rig = Rig(SlowHistory())
        rig.notifier.start()
        try:
            await test(rig)
        finally:
            rig.enricher.release.set()
            await rig.notifier.close()

    asyncio.run(go())


def test_the_ring_does_not_wait_for_the_history_which_follows_as_enriched() -> None:
    async def test(rig: Rig) -> None:
        call = _call()
        await rig.send(ev.CallChange.JOINED, call)
        await rig.send(ev.CallChange.RINGING, replace(call, ringing_agents=("PJSIP/1001",)))
        [(kind, pop)] = _seen(rig.anna)
        assert kind == "call.ringing" and pop["match"]["contact"]["name"] == "Erika"
        assert pop["enriched"] is False and pop["open_tickets"] == []
        await rig.history_done()
        [(kind, extra)] = _seen(rig.anna)
        assert kind == "call.enriched"
        assert extra == {"linkedid": "1.1", "match": pop["match"], "open_tickets": TICKETS, "recent_calls": [],
                         "site": "main"}
        assert _seen(rig.bert) == []  # bert's phone never rang
        # a reloaded console gets the whole pop back
        assert rig.notifier.book.ringing_for("PJSIP/1001")[0]["open_tickets"] == TICKETS

    _run(test)


def test_a_history_ready_before_the_ring_rides_on_the_ring() -> None:
    async def test(rig: Rig) -> None:
        call = _call()
        await rig.send(ev.CallChange.JOINED, call)
        await rig.history_done()
        await rig.send(ev.CallChange.RINGING, replace(call, ringing_agents=("PJSIP/1001",)))
        [(kind, pop)] = _seen(rig.anna)
        assert kind == "call.ringing" and pop["enriched"] is True and pop["open_tickets"] == TICKETS

    _run(test)


def test_no_enriched_after_a_withdrawal() -> None:
    async def test(rig: Rig) -> None:
        call = replace(_call(), ringing_agents=("PJSIP/1001",))
        await rig.send(ev.CallChange.JOINED, _call())
        await rig.send(ev.CallChange.RINGING, call)
        await rig.send(ev.CallChange.RINGING, replace(call, ringing_agents=()), withdrawn=("PJSIP/1001",))
        await rig.history_done()
        assert [kind for kind, _ in _seen(rig.anna)] == ["call.ringing", "call.withdrawn"]

    _run(test)


def test_the_answering_agent_gets_the_history_before_the_answer_the_others_never() -> None:
    async def test(rig: Rig) -> None:
        both = replace(_call(), ringing_agents=("PJSIP/1001", "PJSIP/1002"))
        await rig.send(ev.CallChange.JOINED, _call())
        await rig.send(ev.CallChange.RINGING, both)
        # bert answers while the history is still on its way (it arrives 50 ms later)
        threading.Timer(0.05, rig.enricher.release.set).start()
        answered = replace(both, ringing_agents=(), answered_at=T0 + timedelta(seconds=4), agent="PJSIP/1002")
        await rig.send(ev.CallChange.ANSWERED, answered)
        await rig.history_done()
        assert [kind for kind, _ in _seen(rig.bert)] == ["call.ringing", "call.enriched", "call.answered"]
        assert [kind for kind, _ in _seen(rig.anna)] == ["call.ringing", "call.withdrawn"]

    _run(test)


def test_the_pop_says_which_route_the_call_took() -> None:
    async def test(rig: Rig) -> None:
        routed = _call(route=ev.CallRoute(reason="team", team="Werke", language="en", priority=10,
                                          priority_reason="vip"))
        await rig.send(ev.CallChange.JOINED, routed)
        await rig.send(ev.CallChange.RINGING, replace(routed, ringing_agents=("PJSIP/1001",)))
        [(kind, pop)] = _seen(rig.anna)
        assert kind == "call.ringing"
        assert pop["route"] == {"reason": "team", "team": "Werke", "language": "en", "priority": 10,
                                "priority_reason": "vip"}
        plain = _call(linkedid="1.2")  # no FastAGI answer (hotline was down): no route
        await rig.send(ev.CallChange.JOINED, plain)
        await rig.send(ev.CallChange.RINGING, replace(plain, ringing_agents=("PJSIP/1002",)))
        [(kind, pop)] = _seen(rig.bert)
        assert pop["route"] is None

    _run(test)


def test_each_agent_sees_only_the_open_tickets_and_calls_they_may_open() -> None:
    """Ticket 7 is the team's, ticket 8 anna's alone, ticket 9's parties are unknown (left
    out); anna's earlier call is hers, not bert's (and site b's PJSIP/1001 is not anna). The
    ring, call.enriched, a reconnect's replay and a reloaded console's snapshot all keep to
    it; the rule is tickets.visibility."""
    mine, lost = {"id": 8, "subject": "anna's laptop"}, {"id": 9, "subject": "gone"}
    calls = [{"linkedid": "0.9", "site": "main", "agent": "PJSIP/1001"},
             {"linkedid": "0.8", "site": "main", "agent": "PJSIP/1009"},
             {"linkedid": "0.9", "site": "b", "agent": "PJSIP/1001"}]

    async def test(rig: Rig) -> None:
        rig.enricher.tickets, rig.enricher.calls = [*TICKETS, mine, lost], calls
        rig.enricher.parties = {**PARTIES, 8: Parties(assignee="anna")}
        both = replace(_call(), ringing_agents=("PJSIP/1001", "PJSIP/1002"))
        await rig.send(ev.CallChange.JOINED, _call())
        await rig.send(ev.CallChange.RINGING, both)
        await rig.history_done()
        [_, (kind, anna)] = _seen(rig.anna)
        [_, (_, bert)] = _seen(rig.bert)
        assert kind == "call.enriched"
        assert [t["id"] for t in anna["open_tickets"]] == [7, 8] and anna["recent_calls"] == calls[:1]
        assert [t["id"] for t in bert["open_tickets"]] == [7] and bert["recent_calls"] == []
        assert "parties" not in anna and "anna's laptop" not in json.dumps(bert)
        # bert's console reconnects and gets what it missed: the same, as bert may see it
        rig.hub.detach(rig.bert)
        replay = rig.hub.attach(rig.bert, 0)
        assert replay is not None and "anna's laptop" not in "".join(m.text for m in replay)
        assert [json.loads(m.text)["data"]["open_tickets"] for m in replay][-1] == [TICKETS[0]]
        # bert reloads the page: the snapshot's ringing pops
        viewer = Viewer("bert", "PJSIP/1002", frozenset({"drucker"}), everything=False)
        [pop] = rig.notifier.book.ringing_for("PJSIP/1002", viewer)
        assert [t["id"] for t in pop["open_tickets"]] == [7]
        # a supervisor's view of the same pop is whole
        sven = Viewer("sven", None, frozenset(), everything=True)
        assert len(rig.notifier.book.ringing_for("PJSIP/1002", sven)[0]["open_tickets"]) == 3

    _run(test)


class SlowMatch(SlowHistory):
    """The match only once `matched` is set (a slow or stuck database); the history at once."""

    def __init__(self) -> None:
        super().__init__()
        self.matched = threading.Event()
        self.release.set()

    def match_pops(self, callers_raw: list[str]) -> list[dict[str, Any]]:
        assert self.matched.wait(10), "the test never released the match"
        return super().match_pops(callers_raw)


async def late_match_follows(rig: Rig) -> list[tuple[str, dict[str, Any]]]:
    """The stuck database answers (SlowMatch): anna's pending pop gets the match and then the
    history as call.enriched, and a reloaded console gets the known match. Returns what came."""
    rig.enricher.matched.set()  # type: ignore[attr-defined]
    seen = await seen_until_history(rig, rig.anna)
    assert {kind for kind, _ in seen} == {"call.enriched"}
    assert all(data["match"]["contact"]["name"] == "Erika" for _, data in seen)
    assert seen[-1][1]["open_tickets"] == TICKETS
    assert rig.notifier.book.ringing_for("PJSIP/1001")[0]["match"]["status"] == "known"  # a reload
    return seen


def test_a_slow_match_delays_the_ring_by_a_bounded_time_and_follows_as_enriched(monkeypatch: Any) -> None:
    monkeypatch.setattr("agent_console.notifier.MATCH_WAIT", 0.05)

    async def go() -> None:
        rig = Rig(SlowMatch())
        rig.notifier.start()
        try:
            call = _call()
            await rig.send(ev.CallChange.JOINED, call)
            await asyncio.wait_for(rig.send(ev.CallChange.RINGING, replace(call, ringing_agents=("PJSIP/1001",))), 5)
            [(kind, pop)] = _seen(rig.anna)  # rang while the match was still stuck
            assert kind == "call.ringing" and pop["match"]["status"] == "pending"
            assert pop["caller"]["number"] == "+4934125385555" and pop["match"]["contact"] is None
            seen = await late_match_follows(rig)
            # the match as soon as it is there (with the history, when that came first)
            assert len(seen) in (1, 2)
        finally:
            rig.enricher.matched.set()
            await rig.notifier.close()

    asyncio.run(go())


def agent_updated(endpoint: str, state: ev.AgentState, linkedid: str | None = None) -> ev.AgentUpdated:
    """The registry's AgentUpdated for the agent at `endpoint` (name: its last four characters)."""
    return ev.AgentUpdated(T0, ev.AgentSnapshot(endpoint, endpoint[-4:], state, "", T0, ("hotline",), linkedid))


def test_a_burst_of_rings_pops_every_phone_before_the_agents_states_follow_all_in_order() -> None:
    """Phones starting to ring at once: the registry's events alternate (the call rings,
    the agent rings), but an agent.state to the agent and every supervisor between two
    pops would hold the next pop up; while the notifier has a backlog the states wait,
    then follow, every one and in order. Alone, a state goes out once the queue is quiet."""
    async def test(rig: Rig) -> None:
        lead = Client(3, "lead", None, True)
        rig.hub.attach(lead, None)
        inbox = rig.notifier._inbox
        for lid in ("1.1", "2.1"):
            inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.JOINED, _call(linkedid=lid)))
        for lid, agent in (("1.1", "PJSIP/1001"), ("2.1", "PJSIP/1002")):
            inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.RINGING,
                                            _call(linkedid=lid, ringing_agents=(agent,))))
            inbox.put_nowait(agent_updated(agent, ev.AgentState.RINGING, lid))
        inbox.put_nowait(agent_updated("PJSIP/1001", ev.AgentState.AVAILABLE))  # anna's phone stopped at once
        await rig.notifier.drain()
        anna, bert, sup = _seen(rig.anna), _seen(rig.bert), _seen(lead)
        assert [k for k, _ in anna] == ["call.ringing", "agent.state", "agent.state"]
        assert [d["state"] for k, d in anna if k == "agent.state"] == ["ringing", "available"]
        assert [k for k, _ in bert] == ["call.ringing", "agent.state"]
        assert [(d["agent"], d["state"]) for k, d in sup if k == "agent.state"] == [
            ("PJSIP/1001", "ringing"), ("PJSIP/1002", "ringing"), ("PJSIP/1001", "available")]
        ringing = [m.seq for m in rig.hub._buffer if m.type == "call.ringing"]
        states = [m.seq for m in rig.hub._buffer if m.type == "agent.state"]
        assert len(ringing) == 2 and max(ringing) < min(states)  # both phones rang before any state
        rig.notifier._inbox.put_nowait(agent_updated("PJSIP/1002", ev.AgentState.PAUSED))
        await rig.notifier.drain()  # nothing else waiting: out at once
        assert [(k, d["state"]) for k, d in _seen(rig.bert)] == [("agent.state", "paused")]

    _run(test)


def test_a_burst_read_in_two_parts_pops_every_phone_before_any_state(monkeypatch: Any) -> None:
    """100 AgentCalled frames reach the bridge in more than one read: the queue runs empty
    between them, and states written then held the second read's pops up. They wait until
    the queue has been quiet for STATES_SETTLE (long here, so that no timer decides)."""
    monkeypatch.setattr("agent_console.notifier.STATES_SETTLE", 30.0)
    monkeypatch.setattr("agent_console.notifier.HOLD_STATES_FOR", 60.0)

    async def test(rig: Rig) -> None:
        inbox = rig.notifier._inbox
        for lid in ("1.1", "2.1"):
            inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.JOINED, _call(linkedid=lid)))
        await matched(rig, "1.1", "2.1")
        for lid, agent in (("1.1", "PJSIP/1001"), ("2.1", "PJSIP/1002")):  # one read each
            inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.RINGING, _call(linkedid=lid, ringing_agents=(agent,))))
            inbox.put_nowait(agent_updated(agent, ev.AgentState.RINGING, lid))
            await rig.notifier.caught_up()
        assert [m.type for m in rig.hub._buffer] == ["call.ringing", "call.ringing"]
        await rig.notifier.drain()  # quiet now: the states follow, in order
        assert [(m.type, m.data.get("agent")) for m in rig.hub._buffer][2:] == [
            ("agent.state", "PJSIP/1001"), ("agent.state", "PJSIP/1002")]

    _run(test)


def test_the_wallboard_waits_for_the_states_held_for_the_rest_of_a_burst(monkeypatch: Any) -> None:
    """`quiet` (what the wallboard waits for before it builds the queue view) is not over
    when the first read's pops are out: the states wait for a second read, so does it."""
    monkeypatch.setattr("agent_console.notifier.STATES_SETTLE", 30.0)
    monkeypatch.setattr("agent_console.notifier.HOLD_STATES_FOR", 60.0)

    async def test(rig: Rig) -> None:
        inbox = rig.notifier._inbox
        inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.JOINED, _call()))
        await matched(rig, "1.1")
        assert (await asyncio.wait({asyncio.ensure_future(rig.notifier.quiet())}, timeout=5))[0]  # nothing held
        inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.RINGING, _call(ringing_agents=("PJSIP/1001",))))
        inbox.put_nowait(agent_updated("PJSIP/1001", ev.AgentState.RINGING, "1.1"))
        quiet = asyncio.ensure_future(rig.notifier.quiet())
        await rig.notifier.caught_up()
        assert [m.type for m in rig.hub._buffer] == ["call.ringing"] and not quiet.done()
        await rig.notifier.drain()  # the states out
        await asyncio.wait_for(quiet, 5)

    _run(test)


def test_a_state_alone_goes_out_by_itself_once_the_queue_is_quiet() -> None:
    """Nothing else comes: the state is not left waiting for a drain or the next event."""
    async def test(rig: Rig) -> None:
        rig.notifier._inbox.put_nowait(agent_updated("PJSIP/1002", ev.AgentState.PAUSED))
        await rig.notifier.caught_up()
        assert [(k, d["state"]) for k, d in await seen_soon(rig.bert)] == [("agent.state", "paused")]

    _run(test)


def test_a_backlog_that_never_clears_holds_no_state_longer_than_its_bound(monkeypatch: Any) -> None:
    """More events than the notifier can work: states still go out, HOLD_STATES_FOR after the
    first was held (0 here: each as it comes, between the pops, as before the hold)."""
    monkeypatch.setattr("agent_console.notifier.HOLD_STATES_FOR", 0.0)

    async def test(rig: Rig) -> None:
        inbox = rig.notifier._inbox
        for lid in ("1.1", "2.1"):
            inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.JOINED, _call(linkedid=lid)))
        await matched(rig, "1.1", "2.1")  # (a ring whose match is not there yet waits for it, parked)
        inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.RINGING, _call(linkedid="1.1",
                                                                          ringing_agents=("PJSIP/1001",))))
        inbox.put_nowait(agent_updated("PJSIP/1001", ev.AgentState.RINGING, "1.1"))
        inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.RINGING, _call(linkedid="2.1",
                                                                          ringing_agents=("PJSIP/1002",))))
        await rig.notifier.drain()
        assert [m.type for m in rig.hub._buffer] == ["call.ringing", "agent.state", "call.ringing"]

    _run(test)


def test_a_call_waiting_for_its_history_holds_up_no_other_call() -> None:
    """Bert answers call 1 before its history is there: the answer waits for it (bounded),
    parked with whatever else comes for call 1, while call 2 rings anna at once. Until
    2026-12-04 the notifier itself waited, and every other call's pop with it."""
    async def test(rig: Rig) -> None:
        one = replace(_call(), ringing_agents=("PJSIP/1002",))
        await rig.send(ev.CallChange.JOINED, _call())
        await rig.send(ev.CallChange.RINGING, one)
        inbox = rig.notifier._inbox
        answered = replace(one, ringing_agents=(), answered_at=T0 + timedelta(seconds=4), agent="PJSIP/1002")
        inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.ANSWERED, answered))
        inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.ENDED, replace(answered, ended_at=T0 + timedelta(seconds=9))))
        two = _call(linkedid="2.1")
        inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.JOINED, two))
        inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.RINGING, replace(two, ringing_agents=("PJSIP/1001",))))
        anna = await seen_soon(rig.anna)
        assert [(k, d["linkedid"]) for k, d in anna] == [("call.ringing", "2.1")]
        assert [k for k, _ in _seen(rig.bert)] == ["call.ringing"]  # call 1's answer still waits for its history
        assert "1.1" in rig.notifier._inbox.parked
        await rig.history_done()
        await rig.notifier.drain()
        assert [k for k, _ in _seen(rig.bert)] == ["call.enriched", "call.answered", "call.ended"]
        assert not rig.notifier._inbox.parked

    _run(test)


def test_an_answer_waits_for_the_history_no_longer_than_its_bound(monkeypatch: Any) -> None:
    monkeypatch.setattr("agent_console.notifier.ANSWER_WAITS_FOR_HISTORY", 0.05)

    async def test(rig: Rig) -> None:
        one = replace(_call(), ringing_agents=("PJSIP/1002",))
        await rig.send(ev.CallChange.JOINED, _call())
        await rig.send(ev.CallChange.RINGING, one)
        answered = replace(one, ringing_agents=(), answered_at=T0 + timedelta(seconds=4), agent="PJSIP/1002")
        await asyncio.wait_for(rig.send(ev.CallChange.ANSWERED, answered), 5)
        assert [k for k, _ in _seen(rig.bert)] == ["call.ringing", "call.answered"]  # without the history
        await rig.history_done()
        assert _seen(rig.bert) == []  # and no call.enriched after the answer

    _run(test)


def _edit(ticket_id: int, subject: str) -> TicketUpdated:
    return TicketUpdated(id=ticket_id, number=f"2026-{ticket_id:06d}", subject=subject, description="",
                         status="open", priority="normal", level=1, team="", assignee="anna", category="",
                         channel="phone", first_contact_resolution=False, contact_id=None, linkedid=None,
                         due_at=None, overdue=False, created_at=T0, updated_at=T0, version=1)


def test_a_ticket_edit_waiting_for_its_parties_holds_up_no_pop(monkeypatch: Any) -> None:
    """Who may see an edit is read on a worker thread; while that read is slow, a call still
    rings at once, and the ticket's edits follow in their order once it is done. A read
    that does not come in time sends the edit to supervisors only (fail closed)."""
    monkeypatch.setattr("agent_console.edit_audience.PARTIES_WAIT", 2.0)
    gate = threading.Event()

    def parties(ticket_id: int) -> Parties | None:
        assert gate.wait(10), "the test never let the parties read finish"
        return Parties(assignee="anna") if ticket_id == 5 else None

    async def go() -> None:
        rig = Rig(SlowHistory())
        rig.notifier = PopNotifier(rig.hub, rig.enricher, lambda: T0 + timedelta(seconds=3), parties=parties)
        rig.notifier.start()
        try:
            inbox = rig.notifier._inbox
            inbox.put_nowait(_edit(5, "first"))
            inbox.put_nowait(_edit(5, "second"))
            call = _call()
            inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.JOINED, call))
            inbox.put_nowait(ev.CallUpdated(T0, ev.CallChange.RINGING, replace(call, ringing_agents=("PJSIP/1001",))))
            anna = await seen_soon(rig.anna)
            assert [k for k, _ in anna] == ["call.ringing"]  # the edits still wait for their parties
            gate.set()
            await asyncio.wait_for(rig.notifier.drain(), 5)
            assert [(k, d["subject"]) for k, d in _seen(rig.anna)] == [("ticket.updated", "first"),
                                                                        ("ticket.updated", "second")]
            assert _seen(rig.bert) == []  # not bert's ticket
        finally:
            gate.set()
            rig.enricher.release.set()
            await rig.notifier.close()

    asyncio.run(go())


def test_a_ticket_edit_whose_parties_never_come_goes_to_supervisors_only(monkeypatch: Any) -> None:
    monkeypatch.setattr("agent_console.edit_audience.PARTIES_WAIT", 0.05)
    gate = threading.Event()

    def parties(ticket_id: int) -> Parties | None:
        gate.wait(10)
        return Parties(assignee="anna")

    async def go() -> None:
        rig = Rig(SlowHistory())
        rig.notifier = PopNotifier(rig.hub, rig.enricher, lambda: T0, parties=parties)
        lead = Client(3, "lead", None, True)
        rig.hub.attach(lead, None)
        rig.notifier.start()
        try:
            rig.notifier._inbox.put_nowait(_edit(5, "late"))
            await asyncio.wait_for(rig.notifier.drain(), 5)
            assert [(k, d["subject"]) for k, d in _seen(lead)] == [("ticket.updated", "late")]
            assert _seen(rig.anna) == []
        finally:
            gate.set()
            rig.enricher.release.set()
            await rig.notifier.close()

    asyncio.run(go())
