"""CallTracker: bytes in any chunking give the same updates, stamped with the `now` given."""

from __future__ import annotations

import ast
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti import events as ev
from cti.calls import CallRegistry
from cti.testing import frame
from cti.tracker import CallTracker

T0 = datetime(2001, 2, 3, 4, 5, tzinfo=UTC)  # far from today: a clock read would show
CALL = b"".join([
    b"Asterisk Call Manager/9.0.0\r\n",
    frame(Event="QueueCallerJoin", Linkedid="5.1", Uniqueid="5.1", Channel="PJSIP/trunk-1", Queue="hotline",
          CallerIDNum="0341 2538-5555", CallerIDName="J\u00fcrgen", Position="1"),
    frame(Response="Success", ActionID="a1", Message="ok"),
    frame(Event="AgentCalled", Linkedid="5.1", Queue="hotline", Interface="PJSIP/1001", MemberName="Anna",
          DestUniqueid="5.2"),
    frame(Event="AgentConnect", Linkedid="5.1", Queue="hotline", Interface="PJSIP/1001", MemberName="Anna",
          HoldTime="4", RingTime="2"),
    frame(Event="AgentComplete", Linkedid="5.1", Queue="hotline", Interface="PJSIP/1001", HoldTime="4",
          TalkTime="30", Reason="caller"),
    frame(Event="Hangup", Linkedid="5.1", Uniqueid="5.1", Channel="PJSIP/trunk-1", Cause="16"),
])


def _ended(updates: list[ev.CallUpdated | ev.AgentUpdated]) -> list[ev.CallSnapshot]:
    return [u.call for u in updates if isinstance(u, ev.CallUpdated) and u.change is ev.CallChange.ENDED]


def test_whole_and_byte_by_byte_give_the_same_updates_at_the_given_time() -> None:
    whole = CallTracker().feed(CALL, T0)
    tracker, pieces = CallTracker(), []
    for i in range(len(CALL)):
        pieces += tracker.feed(CALL[i:i + 1], T0)
    assert pieces == whole
    assert tracker.events == 5  # the greeting and the response are not events
    [call] = _ended(whole)
    assert (call.caller_number, call.caller_name, call.outcome) == ("+4934125385555", "J\u00fcrgen", "answered")
    assert (call.wait_seconds, call.talk_seconds, call.agent) == (4.0, 30.0, "PJSIP/1001")
    assert call.entered_at == call.answered_at == call.ended_at == T0  # `now`, never the clock


def test_a_partial_frame_waits_for_the_rest() -> None:
    tracker = CallTracker()
    cut = CALL.index(b"Event: AgentCalled") + 10
    first = tracker.feed(CALL[:cut], T0)
    assert [u.change for u in first if isinstance(u, ev.CallUpdated)] == [ev.CallChange.JOINED]
    later = T0 + timedelta(seconds=9)
    rest = tracker.feed(CALL[cut:], later)
    assert [u.call.ended_at for u in rest if isinstance(u, ev.CallUpdated)][-1] == later


def test_trackers_sharing_a_registry_end_a_replayed_call_once() -> None:
    registry = CallRegistry()
    first, second = CallTracker(registry).feed(CALL, T0), CallTracker(registry).feed(CALL, T0)
    assert len(_ended(first)) == 1 and _ended(second) == []
    assert registry.calls() == []


def test_tracker_imports_only_cti_and_the_standard_library() -> None:
    tree = ast.parse(Path(sys.modules[CallTracker.__module__].__file__ or "").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    tops = {name.split(".")[0] for name in names}
    assert tops - {"cti"} <= set(sys.stdlib_module_names), tops
    assert "now(" not in ast.unparse(tree) and "time" not in tops  # never reads the clock


def test_agent_complete_without_the_callers_fields_still_ends_the_agents_part() -> None:
    # seen on Asterisk 22: the caller hung up and its snapshot was gone, so AgentComplete
    # carried only the caller's Uniqueid and the agent leg's Dest* fields
    bare = frame(Event="AgentComplete", Uniqueid="5.1", DestLinkedid="5.1", DestUniqueid="5.2", Queue="hotline",
                 Interface="PJSIP/1001", HoldTime="4", TalkTime="30", Reason="caller")
    start = CALL.index(b"Event: AgentComplete")
    end = CALL.index(b"Event: Hangup")
    updates = CallTracker().feed(CALL[:start] + bare + CALL[end:], T0)
    [call] = _ended(updates)
    assert (call.wait_seconds, call.talk_seconds) == (4.0, 30.0)
    states = [u.agent.state for u in updates if isinstance(u, ev.AgentUpdated)]
    assert states[-1] is ev.AgentState.WRAP_UP, states
