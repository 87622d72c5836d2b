"""Recorded real-Asterisk transcripts replayed offline through protocol + translate + registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cti import events as ev
from cti.calls import CallRegistry
from cti.tracker import CallTracker
from tests.replay import TRANSCRIPTS, agent_states, assert_figures, replay, updates

NAMES = sorted(p.stem for p in TRANSCRIPTS.glob("*.ami")
               if "linkedid" in json.loads(p.with_suffix(".json").read_text()))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_transcript_gives_the_recorded_figures(name: str, seed: int) -> None:
    side = json.loads((TRANSCRIPTS / f"{name}.json").read_text())
    calls = replay((TRANSCRIPTS / f"{name}.ami").read_bytes(), seed)
    assert_figures(calls[side["linkedid"]], side["expected"])


def agent_channels(name: str, seed: int) -> list[tuple[str, str | None]]:
    """(change, agent_channel) of every update of the transcript's call, in order."""
    linkedid = json.loads((TRANSCRIPTS / f"{name}.json").read_text())["linkedid"]
    return [(u.change.value, u.call.agent_channel) for u in updates((TRANSCRIPTS / f"{name}.ami").read_bytes(), seed)
            if isinstance(u, ev.CallUpdated) and u.call.linkedid == linkedid]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_registry_keeps_the_agents_own_leg_from_the_answer_until_the_transfer(seed: int) -> None:
    """AgentConnect's DestChannel is the leg a console transfer moves the caller from;
    once the agent transferred the call it is gone (Asterisk hung that leg up)."""
    assert agent_channels("blind_transfer", seed) == [
        ("joined", None), ("ringing", None), ("answered", "PJSIP/1001-00000001"),
        ("transferred", None), ("ended", None)]
    assert agent_channels("answered", seed) == [
        ("joined", None), ("ringing", None), ("answered", "PJSIP/1001-00000001"), ("ended", None)]
    assert {channel for _, channel in agent_channels("abandoned", seed)} == {None}  # nobody answered


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pause_transcript_gives_the_recorded_agent_states(seed: int) -> None:
    side = json.loads((TRANSCRIPTS / "pause_unpause.json").read_text())
    states = agent_states((TRANSCRIPTS / "pause_unpause.ami").read_bytes(), side["agent"], seed)
    assert states == [tuple(s) for s in side["states"]]
    assert ("paused", "Mittagspause") in states


def test_replaying_a_call_twice_ends_it_once() -> None:
    data = (TRANSCRIPTS / "answered.ami").read_bytes()
    registry, ended = CallRegistry(), 0
    for _ in range(2):  # a fresh parser each time, one registry
        for u in CallTracker(registry).feed(data, datetime.now(UTC)):
            ended += isinstance(u, ev.CallUpdated) and u.change == "ended"
    assert ended == 1
    assert registry.calls() == []


def test_a_live_taps_arrival_times_make_a_derived_talk_time_the_same_whatever_the_chunks() -> None:
    """The live test failed once: the caller's Hangup came before AgentComplete, so the
    registry derived the talk time from when the answer and the hang-up arrived, and the
    replay, feeding at its own clock, got 0.0003 s in one chunking and 0.0002 in another.
    With the tap's arrival times every chunking gets the live bridge's figure."""
    side = json.loads((TRANSCRIPTS / "answered.json").read_text())
    frames = [f + b"\r\n\r\n" for f in (TRANSCRIPTS / "answered.ami").read_bytes().split(b"\r\n\r\n") if f.strip()]
    complete = next(f for f in frames if f.startswith(b"Event: AgentComplete"))
    frames.remove(complete)
    frames.append(complete)  # after the caller's Hangup, as Asterisk sometimes sends it
    t0 = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    raw, arrivals = b"", []
    for n, frame in enumerate(frames):  # a read per frame, a second apart
        raw += frame
        arrivals.append((len(raw), t0 + timedelta(seconds=n)))
    talks = {replay(raw, seed, arrivals)[side["linkedid"]].talk_seconds for seed in (1, 2, 3)}
    assert len(talks) == 1  # the same in every chunking
    talk = talks.pop()
    assert talk is not None and talk >= 1 and talk == int(talk)  # whole seconds between reads, not the replay's
