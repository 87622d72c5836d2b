"""A queue member's penalty (its routing band, tickets.routing) from Asterisk's events
into the AgentBoard: the FastAGI route reads which languages band 0 covers from it."""

from __future__ import annotations

from datetime import UTC, datetime

from cti import events as ev
from cti.calls import CallRegistry
from cti.protocol import AmiMessage, AmiParser
from cti.translate import translate

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _events(*fields: str) -> list[ev.DomainEvent]:
    raw = ("\r\n".join(fields) + "\r\n\r\n").encode()
    return [e for m in AmiParser().feed(raw) if isinstance(m, AmiMessage) for e in translate(m, T0)]


def test_penalty_comes_with_the_login_the_status_the_resync_and_its_own_event() -> None:
    added = _events("Event: QueueMemberAdded", "Queue: hotline", "Interface: PJSIP/1001", "MemberName: anna",
                    "Penalty: 3", "Paused: 0")
    assert [(type(e), getattr(e, "penalty", None)) for e in added] == [(ev.AgentLoggedIn, 3)]
    status = _events("Event: QueueMemberStatus", "Queue: hotline", "Interface: PJSIP/1001", "Penalty: 12",
                     "Status: 1", "Paused: 0", "InCall: 0")
    assert [getattr(e, "penalty", None) for e in status] == [12]
    resync = _events("Event: QueueMember", "Queue: hotline", "Location: PJSIP/1001", "Penalty: 0", "Status: 1")
    assert [getattr(e, "penalty", None) for e in resync] == [0]
    changed = _events("Event: QueueMemberPenalty", "Queue: hotline", "Interface: PJSIP/1001", "Penalty: 2")
    assert changed == [ev.AgentPenaltyChanged(at=T0, agent="PJSIP/1001", queue="hotline", penalty=2)]


def test_a_missing_or_garbage_penalty_is_not_guessed() -> None:
    for value in ("", "-1", "abc", "12345", "٣", "1\u00a0"):
        assert _events("Event: QueueMemberPenalty", "Queue: hotline", "Interface: PJSIP/1001",
                       f"Penalty: {value}") == []
        status = _events("Event: QueueMemberStatus", "Queue: hotline", "Interface: PJSIP/1001",
                         f"Penalty: {value}", "Status: 1")
        assert [getattr(e, "penalty", "?") for e in status] == [None]


def test_the_board_keeps_the_last_penalty_and_says_when_it_changed() -> None:
    reg = CallRegistry()

    def apply(e: ev.DomainEvent) -> list[ev.AgentUpdated]:
        return [u for u in reg.apply(e, T0) if isinstance(u, ev.AgentUpdated)]

    apply(ev.AgentLoggedIn(at=T0, agent="PJSIP/1001", member_name="anna", queue="hotline", paused=False,
                           pause_reason="", penalty=1))
    assert [a.penalty for a in reg.agent_list()] == [1]
    # a status without a penalty keeps the known one
    apply(ev.AgentDeviceChanged(at=T0, agent="PJSIP/1001", member_name="anna", queue="hotline", in_call=False,
                                available=True, registered=True, paused=False, pause_reason="", wrapup=False))
    assert [a.penalty for a in reg.agent_list()] == [1]
    updates = apply(ev.AgentPenaltyChanged(at=T0, agent="PJSIP/1001", queue="hotline", penalty=3))
    assert [u.agent.penalty for u in updates] == [3]
    assert apply(ev.AgentPenaltyChanged(at=T0, agent="PJSIP/1001", queue="hotline", penalty=3)) == []
    assert [a.penalty for a in reg.agent_list()] == [3]
