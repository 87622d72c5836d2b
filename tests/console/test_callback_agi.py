"""The `wait` and `callback` FastAGI scripts and the callback dispatcher on a real
database and the wallboard's projection (the AMI side: tests/integration/
test_callback_live.py). Logs never carry the caller's number."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from callqueue import callbacks as cb
from callqueue.live import QueueProjection
from sqlalchemy import select, update

from agent_console.callback_agi import CallbackDispatcher, CallbackScripts
from agent_console.jobs import Jobs
from cti import events as ev
from cti.agi import AgiRequest
from cti.bus import EventBus
from cti.dial_allow import DialAllowList
from tests.db_fixture import db_sessions, wipe
from tests.factories import call_snapshot, new_linkedid
from tickets.callback_places import CallbackPlaces
from tickets.events import CallbacksWaiting
from tickets.models import Callback, CallbackStatus, CallRecord
from tickets.reconcile import Reconciler

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
NUMBER = "+493415550199"
ABROAD = "+447700900123"
ALLOW = DialAllowList.parse("10XX,5555,+49.")  # Germany, not abroad


def _request(script: str, caller: str, linkedid: str) -> AgiRequest:
    return AgiRequest.from_env({"agi_network_script": script, "agi_callerid": caller,
                                "agi_uniqueid": linkedid, "agi_arg_1": linkedid})


def _updated(state: ev.AgentState) -> ev.AgentUpdated:
    return ev.AgentUpdated(NOW, ev.AgentSnapshot("PJSIP/1001", "1001", state, "", NOW, ("hotline",), None))


def _agent(p: QueueProjection, state: ev.AgentState) -> None:
    p.apply(_updated(state), NOW)


class Recorder:
    def __init__(self) -> None:
        self.noted: list[ev.DomainEvent] = []
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.woken = 0
        self.refuse = False
        self.told: list[object] = []  # what the dispatcher published

    async def publish(self, event: object) -> None:
        self.told.append(event)

    async def note(self, event: ev.DomainEvent) -> None:
        self.noted.append(event)

    async def send(self, name: str, fields: dict[str, str]) -> object:
        if self.refuse:
            raise ConnectionError("AMI link down")
        self.sent.append((name, fields))
        return None

    def wake(self) -> None:
        self.woken += 1


async def test_wait_says_position_wait_and_offer_from_the_wallboard_forecast(database_url: str) -> None:
    projection, rec = QueueProjection(threshold=25), Recorder()
    with db_sessions(database_url) as sessions:
        scripts = CallbackScripts(CallbackPlaces(sessions), projection, "hotline", "DE", lambda: NOW,
                                  rec.note, rec.wake, ALLOW)
        try:
            _agent(projection, ev.AgentState.AVAILABLE)
            assert await scripts.wait(_request("wait", NUMBER, "1.1")) == []  # straight to the free agent
            _agent(projection, ev.AgentState.ON_CALL)
            assert dict(await scripts.wait(_request("wait", NUMBER, "1.1"))) == {
                "HOTLINE_AHEAD": "0", "HOTLINE_WAIT_MINUTES": "2", "HOTLINE_OFFER": "1"}  # 90 s
            assert scripts.scripts()["wait"].fallback(_request("wait", NUMBER, "1.1"), "timeout") == []
        finally:
            scripts.close()


async def test_callback_keeps_the_place_from_the_queue_join_and_refuses_withheld(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    projection, rec = QueueProjection(), Recorder()
    linkedid = new_linkedid()
    joined = NOW - timedelta(seconds=12)
    projection.apply(ev.CallUpdated(joined, ev.CallChange.JOINED, call_snapshot(
        linkedid, caller_number=NUMBER, entered_at=joined)), joined)
    with db_sessions(database_url) as sessions:
        wipe(sessions)
        places = CallbackPlaces(sessions)
        scripts = CallbackScripts(places, projection, "hotline", "DE", lambda: NOW, rec.note, rec.wake, ALLOW)
        try:
            with caplog.at_level(logging.INFO):
                got = dict(await scripts.callback(_request("callback", "0341 5550199", linkedid)))
            assert got["HOTLINE_CALLBACK"] == "1"
            callback_id = int(got["HOTLINE_CALLBACK_ID"])
            assert rec.noted == [ev.CallbackRequested(NOW, linkedid, callback_id)] and rec.woken == 1
            assert places.active() == [cb.VirtualPlace(callback_id, "hotline", joined, NUMBER)]
            assert dict(await scripts.callback(_request("callback", "", new_linkedid()))) == {
                "HOTLINE_CALLBACK": "0"}
            assert scripts.scripts()["callback"].fallback(_request("callback", NUMBER, "x"), "error") == [
                ("HOTLINE_CALLBACK", "0")]
            assert "5550199" not in caplog.text
        finally:
            scripts.close()
            wipe(sessions)


async def test_dispatcher_rings_a_free_agent_first_and_settles_the_result(database_url: str) -> None:
    projection, rec = QueueProjection(), Recorder()
    with db_sessions(database_url) as sessions:
        wipe(sessions)
        places = CallbackPlaces(sessions)
        callback_id = places.request(new_linkedid(), NUMBER, NUMBER, "", "hotline", NOW, NOW)
        connected = True
        dispatcher = CallbackDispatcher(places, projection, "hotline", lambda: NOW, rec.send, lambda: connected,
                                        ALLOW)
        try:
            _agent(projection, ev.AgentState.ON_CALL)
            await dispatcher.tick()
            assert rec.sent == []  # nobody free
            _agent(projection, ev.AgentState.AVAILABLE)
            rec.refuse = True
            await dispatcher.tick()  # the Originate fails: the place waits again
            assert places.active()[0].state is cb.PlaceState.WAITING
            rec.refuse = False
            await dispatcher.tick()
            await dispatcher.tick()  # the agent is taken by the callback: not rung twice
            assert [(n, f["Channel"], f["Variable"]) for n, f in rec.sent] == [
                ("Originate", "PJSIP/1001", f"__HOTLINE_CALLBACK_ID={callback_id},HOTLINE_CALLBACK_NUMBER={NUMBER}")]
            assert places.active()[0].state is cb.PlaceState.DIALING
            await dispatcher.settle(ev.CallbackDialed(NOW, callback_id, "NOANSWER"))
            retry = places.active()[0]
            assert (retry.state, retry.attempts) == (cb.PlaceState.WAITING, 1)
            await dispatcher.tick()
            assert len(rec.sent) == 1  # not before the retry time
            places.save(cb.dialing(retry, "PJSIP/1001", NOW))
            await dispatcher.settle(ev.CallbackDialed(NOW, callback_id, "ANSWER"))
            assert places.active() == []
            await dispatcher.settle(ev.CallbackDialed(NOW, callback_id, "ANSWER"))  # settled: ignored
        finally:
            await dispatcher.close()
            wipe(sessions)


async def test_a_number_off_the_dial_allow_list_is_not_offered_nor_kept_nor_dialled(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The caller from abroad (not on 10XX,5555,+49.) hears the wait but no offer; pressing 1
    in the queue anyway puts them back at their place. A place stored before the list
    changed is never dialled: given up, the reason on its item, which stays open."""
    projection, rec = QueueProjection(threshold=25), Recorder()
    with db_sessions(database_url) as sessions:
        wipe(sessions)
        places = CallbackPlaces(sessions)
        scripts = CallbackScripts(places, projection, "hotline", "DE", lambda: NOW, rec.note, rec.wake, ALLOW)
        dispatcher = CallbackDispatcher(places, projection, "hotline", lambda: NOW, rec.send, lambda: True, ALLOW)
        try:
            _agent(projection, ev.AgentState.ON_CALL)
            assert dict(await scripts.wait(_request("wait", ABROAD, "1.1")))["HOTLINE_OFFER"] == "0"
            assert dict(await scripts.wait(_request("wait", NUMBER, "1.1")))["HOTLINE_OFFER"] == "1"
            with caplog.at_level(logging.INFO):
                assert dict(await scripts.callback(_request("callback", ABROAD, new_linkedid()))) == {
                    "HOTLINE_CALLBACK": "0"}
            assert places.active() == [] and rec.noted == []
            stored = places.request(new_linkedid(), ABROAD, ABROAD, "", "hotline", NOW, NOW)  # the list was wider
            _agent(projection, ev.AgentState.AVAILABLE)
            with caplog.at_level(logging.INFO):
                await dispatcher.tick()
            assert rec.sent == []  # never dialled
            assert places.active() == [] and places.place(stored).state is cb.PlaceState.GIVEN_UP
            with sessions() as s:
                item = s.get_one(Callback, stored)
                assert item.status is CallbackStatus.OPEN
                assert item.refused == "not on this hotline's dial allow-list (allowed: 10XX, 5555, +49.)"
            assert "not on this hotline's dial allow-list" in caplog.text
            assert "7700900123" not in caplog.text
        finally:
            scripts.close()
            await dispatcher.close()
            wipe(sessions)


async def test_every_dispatcher_round_tells_the_wallboard_the_callbacks_waiting(database_url: str) -> None:
    projection, rec = QueueProjection(), Recorder()
    told = rec.told
    with db_sessions(database_url) as sessions:
        wipe(sessions)
        places = CallbackPlaces(sessions)
        dispatcher = CallbackDispatcher(places, projection, "hotline", lambda: NOW, rec.send, lambda: True,
                                        ALLOW, publish=rec.publish)
        try:
            await dispatcher.tick()
            places.request(new_linkedid(), NUMBER, NUMBER, "", "hotline", NOW - timedelta(seconds=40), NOW)
            places.request(new_linkedid(), NUMBER, NUMBER, "", "hotline", NOW - timedelta(seconds=9), NOW)
            await dispatcher.tick()  # nobody free: both wait
            assert told == [CallbacksWaiting("hotline", 0, None),
                            CallbacksWaiting("hotline", 2, NOW - timedelta(seconds=40))]
            assert told[-1].json() == {"count": 2, "oldest_since": (NOW - timedelta(seconds=40)).isoformat()}
        finally:
            await dispatcher.close()
            wipe(sessions)


async def test_the_dispatcher_tells_the_console_who_is_called_back_once_the_agent_rings(database_url: str) -> None:
    """The Originate passes no queue: CallbackRinging is what pops it (agent_console.notifier),
    with how long the caller waited before pressing 1 (the call record's wait) and the ticket."""
    projection, rec = QueueProjection(), Recorder()
    told = rec.told
    with db_sessions(database_url) as sessions:
        wipe(sessions)
        places = CallbackPlaces(sessions)
        linkedid = new_linkedid()
        callback_id = places.request(linkedid, NUMBER, "0341 5550199", "Rita <Rückruf>", "hotline", NOW, NOW)
        with sessions.begin() as s:
            s.execute(update(CallRecord).where(CallRecord.linkedid == linkedid).values(wait_seconds=95.0))
            ticket_id = s.scalar(select(Callback.ticket_id).where(Callback.id == callback_id))
        dispatcher = CallbackDispatcher(places, projection, "hotline", lambda: NOW, rec.send, lambda: True,
                                        ALLOW, publish=rec.publish)
        try:
            _agent(projection, ev.AgentState.AVAILABLE)
            rec.refuse = True
            await dispatcher.tick()
            assert [e for e in told if isinstance(e, ev.CallbackRinging)] == []  # not rung: no pop
            rec.refuse = False
            await dispatcher.tick()
            assert [e for e in told if isinstance(e, ev.CallbackRinging)] == [ev.CallbackRinging(
                at=NOW, callback_id=callback_id, agent="PJSIP/1001", caller_raw="0341 5550199",
                caller_number=NUMBER, caller_name="Rita <Rückruf>", waited_seconds=95.0, ticket_id=ticket_id)]
            assert ticket_id is not None
        finally:
            await dispatcher.close()
            wipe(sessions)


class _Writer:
    async def drain(self) -> None:
        return None


async def test_a_result_that_came_while_hotline_was_restarting_settles_from_queue_log(
        database_url: str, tmp_path: Path) -> None:
    """hotline rang the agent and stopped before HotlineCallbackResult came: the next
    start finds the result in queue_log (the dialplan's CALLBACKRESULT line) and the
    caller, who talked already, is not called again. An earlier attempt's line (older
    than the attempt being dialled) settles nothing."""
    projection, rec = QueueProjection(), Recorder()
    log_file = tmp_path / "queue_log"
    with db_sessions(database_url) as sessions:
        wipe(sessions)
        places = CallbackPlaces(sessions)
        callback_id = places.request(new_linkedid(), NUMBER, NUMBER, "", "hotline", NOW, NOW)
        dialing_at = NOW + timedelta(minutes=5)
        places.save(cb.dialing(replace(places.active()[0], attempts=1), "PJSIP/1001", dialing_at))
        epoch = int(dialing_at.timestamp())
        log_file.write_text(f"{epoch - 300}|1.1|hotline|NONE|CALLBACKRESULT|{callback_id}|NOANSWER\n")
        dispatcher = CallbackDispatcher(places, projection, "hotline", lambda: dialing_at, rec.send,
                                        lambda: True, ALLOW)
        none = cast(Any, None)
        jobs = Jobs(EventBus(), sessions, cast(Any, _Writer()), none, lambda: dialing_at, None,
                    Reconciler(sessions, log_file, 24, "DE"), 0, callback_results=dispatcher.settle)
        try:
            await jobs.reconcile()
            still = places.active()[0]
            assert (still.state, still.attempts) == (cb.PlaceState.DIALING, 1)  # attempt 1's result
            with log_file.open("a") as fh:  # this attempt's, in the second it started (whole seconds)
                fh.write(f"{epoch}|2.2|hotline|NONE|CALLBACKRESULT|{callback_id}|ANSWER\n")
            await jobs.reconcile()
            assert places.active() == []
            with sessions() as s:
                item = s.get_one(Callback, callback_id)
                assert (item.status, item.done_by, item.place_state) == (CallbackStatus.DONE, "callback", "done")
            _agent(projection, ev.AgentState.AVAILABLE)
            await dispatcher.tick()
            assert rec.sent == []  # not called again
        finally:
            await dispatcher.close()
            wipe(sessions)


def _woken(dispatcher: CallbackDispatcher, bus: EventBus) -> Callable[[object], Awaitable[bool]]:
    """Whether publishing an event on `bus` wakes a round of `dispatcher`."""
    async def woken(event: object) -> bool:
        dispatcher._wake.clear()
        await bus.publish(event)
        return dispatcher._wake.is_set()
    return woken


async def test_the_dispatcher_wakes_for_a_free_agent_or_a_caller_leaving_never_for_a_ring() -> None:
    """A ring, a call, wrap-up or a pause can make no callback due: 100 phones ringing at
    once must not wake a database round each. A free agent or a caller leaving the line can."""
    bus, rec = EventBus(), Recorder()
    dispatcher = CallbackDispatcher(cast(Any, None), QueueProjection(), "hotline", lambda: NOW, rec.send,
                                    lambda: True, ALLOW)
    dispatcher.subscribe(bus)
    woken = _woken(dispatcher, bus)
    ringing = call_snapshot(new_linkedid(), ringing_agents=("PJSIP/1001",))
    assert [await woken(_updated(s)) for s in ev.AgentState] == [s is ev.AgentState.AVAILABLE for s in ev.AgentState]
    assert [await woken(ev.CallUpdated(NOW, c, ringing)) for c in ev.CallChange] == [
        c not in (ev.CallChange.JOINED, ev.CallChange.RINGING) for c in ev.CallChange]
    await dispatcher.close()


async def test_with_no_place_waiting_agents_and_calls_wake_no_round(database_url: str) -> None:
    """A round that found no callback place waiting: a free agent or a caller leaving
    wakes none (nothing can be due); a place requested (wake) does, and with a place
    waiting they wake rounds again."""
    bus, rec = EventBus(), Recorder()
    with db_sessions(database_url) as sessions:
        wipe(sessions)
        places = CallbackPlaces(sessions)
        dispatcher = CallbackDispatcher(places, QueueProjection(), "hotline", lambda: NOW, rec.send,
                                        lambda: True, ALLOW)
        dispatcher.subscribe(bus)
        woken = _woken(dispatcher, bus)
        left = ev.CallUpdated(NOW, ev.CallChange.ENDED, call_snapshot(new_linkedid()))
        try:
            assert await woken(_updated(ev.AgentState.AVAILABLE))  # nothing read yet
            await dispatcher.tick()
            assert not await woken(_updated(ev.AgentState.AVAILABLE)) and not await woken(left)
            places.request(new_linkedid(), NUMBER, NUMBER, "", "hotline", NOW - timedelta(seconds=40), NOW)
            dispatcher.wake()  # as the FastAGI does after the request
            assert dispatcher._wake.is_set()
            await dispatcher.tick()  # nobody free: the place waits
            assert await woken(_updated(ev.AgentState.AVAILABLE)) and await woken(left)
        finally:
            await dispatcher.close()
            wipe(sessions)
