"""Replaying real AMI bytes (recorded transcripts, or a live Asterisk's tap) through
cti.tracker.CallTracker in random chunks, and checking the figures a call ended with.

Layer: test support. Used by tests/cti/test_replay.py (offline) and
tests/integration/test_asterisk_calls.py (which records the transcripts).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cti import events as ev
from cti.tracker import CallTracker

TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"


Arrivals = Sequence[tuple[int, datetime]]  # (end offset in raw of a read, when it arrived)


def updates(raw: bytes, seed: int = 0, arrivals: Arrivals = ()) -> Iterator[ev.CallUpdated | ev.AgentUpdated]:
    """Feed real AMI bytes through protocol + translate + registry in random chunks. With
    `arrivals` (a live tap's), a chunk never spans two reads and is fed at its read's time,
    so every message gets the time its last byte arrived, as the live bridge gave it, and
    times the registry derives (a talk time when the call ends before AgentComplete) come
    out the same whatever the chunks; without, the time of the replay."""
    rng, tracker, pos, read = random.Random(seed), CallTracker(), 0, 0
    while pos < len(raw):
        size = rng.randint(1, 700)
        while read < len(arrivals) and arrivals[read][0] <= pos:
            read += 1
        if read < len(arrivals):
            end, at = min(pos + size, arrivals[read][0]), arrivals[read][1]
        else:
            end, at = pos + size, datetime.now(UTC)
        yield from tracker.feed(raw[pos:end], at)
        pos = end


def replay(raw: bytes, seed: int = 0, arrivals: Arrivals = ()) -> dict[str, ev.CallSnapshot]:
    """The calls that ended, by Linkedid, as the registry saw them."""
    return {u.call.linkedid: u.call for u in updates(raw, seed, arrivals)
            if isinstance(u, ev.CallUpdated) and u.change == "ended"}


def agent_states(raw: bytes, agent: str, seed: int = 0) -> list[tuple[str, str]]:
    """The agent's (state, pause reason) sequence from AMI bytes fed in random chunks."""
    return [(u.agent.state.value, u.agent.pause_reason) for u in updates(raw, seed)
            if isinstance(u, ev.AgentUpdated) and u.agent.agent == agent]


def assert_figures(call: ev.CallSnapshot, expected: Mapping[str, object]) -> None:
    """Each expected field as recorded; whole seconds may differ by one (Asterisk rounds)."""
    for key, want in expected.items():
        got = getattr(call, key)
        if isinstance(want, list):
            want = tuple(want)  # JSON has no tuples
        if isinstance(want, int | float) and not isinstance(want, bool):
            assert got is not None and abs(got - want) <= 1, (key, got, want)
        else:
            assert got == want, (key, got, want)
