"""PopLookups reads the history of every caller waiting for it in one go, not one by one."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from agent_console.pop_lookups import HistoryReady, MatchReady, PopLookups
from agent_console.pops import PopEnricher


class Batches(PopEnricher):
    """Each caller's match names its number; the history of a batch says which batch it
    was in. The first batch waits on a worker thread until `release` is set."""

    def __init__(self, fail: bool = False) -> None:  # no database: canned
        self.release, self.fail = threading.Event(), fail
        self.batches: list[list[str]] = []

    def match_pops(self, callers_raw: list[str]) -> list[dict[str, Any]]:
        return [{"status": "unknown", "number": raw, "contact": None, "candidates": []} for raw in callers_raw]

    def history_many(self, matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert self.release.wait(10), "the test never released the first batch"
        self.batches.append([m["number"] for m in matches])
        if self.fail and len(self.batches) == 1:
            raise OSError("database down")
        return [{"open_tickets": [], "recent_calls": [{"number": m["number"]}], "callbacks": [],
                 "parties": {}, "batch": len(self.batches)} for m in matches]


def _burst(enricher: Batches) -> tuple[list[HistoryReady | MatchReady], dict[str, Any]]:
    async def go() -> tuple[list[HistoryReady | MatchReady], dict[str, Any]]:
        ready: list[HistoryReady | MatchReady] = []
        lookups = PopLookups(enricher, ready.append)
        try:
            first = lookups.prefetch("1.1", "+491")
            await first.match  # its history is being read (held up), alone: nobody else waited yet
            while not _reading(lookups):  # noqa: ASYNC110 (a worker thread, no event)
                await asyncio.sleep(0.001)
            rest = [lookups.prefetch(f"{n}.{n}", f"+49{n}") for n in range(2, 12)]
            while len(lookups.histories.waiting) < len(rest):  # noqa: ASYNC110 (their matches, on a worker thread)
                await asyncio.sleep(0.001)
            enricher.release.set()  # the first read returns; the ten waiting meanwhile are read next, at once
            done = await asyncio.wait([first.history, *(r.history for r in rest)], timeout=10)
            assert not done[1], "a history was never read"
            return ready, {lid: lookups.history_now(lid) for lid in ["1.1", *(f"{n}.{n}" for n in range(2, 12))]}
        finally:
            await lookups.close()

    return asyncio.run(go())


def _reading(lookups: PopLookups) -> bool:
    return lookups.histories.task is not None and not lookups.histories.waiting  # the first batch was taken


def test_a_burst_of_callers_has_its_history_read_in_one_batch_each_its_own() -> None:
    enricher = Batches()
    ready, found = _burst(enricher)
    assert enricher.batches == [["+491"], [f"+49{n}" for n in range(2, 12)]]  # ten callers, one read
    for lid, history in found.items():
        assert history is not None and history["recent_calls"] == [{"number": "+49" + lid.partition(".")[0]}]
        assert history["batch"] == (1 if lid == "1.1" else 2)
    assert sorted(r.linkedid for r in ready if isinstance(r, HistoryReady)) == sorted(found)


def test_a_failed_read_fails_its_batch_only() -> None:
    enricher = Batches(fail=True)
    ready, found = _burst(enricher)
    assert found["1.1"] is None  # the pop shows no history; the ring went out without it anyway
    assert all(found[f"{n}.{n}"] is not None for n in range(2, 12))
    assert "1.1" not in {r.linkedid for r in ready}
