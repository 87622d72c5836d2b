"""agent_console.gc_quiet: full collections at a quiet moment, never later than bounded."""

from __future__ import annotations

import asyncio
import gc
import itertools
from typing import Any

from agent_console.app import build
from agent_console.gc_quiet import QuietCollector
from agent_console.settings import Settings


class Rig:
    """`busy`: every look at the activity counter finds it moved (events keep coming)."""

    def __init__(self) -> None:
        self.busy = True
        self._moving = itertools.count()
        self.calls: list[int] = []
        self.collected = asyncio.Event()

    def activity(self) -> int:
        return next(self._moving) if self.busy else -1

    def collect(self, generation: int) -> int:
        self.calls.append(generation)
        self.collected.set()
        return 0


def test_a_due_pass_waits_for_a_quiet_moment() -> None:
    async def go() -> None:
        rig = Rig()
        gc_ = QuietCollector(rig.activity, every=0.01, quiet=0.01, longest=30, collect=rig.collect)
        gc_.start()
        try:
            for _ in range(30):  # due after 10 ms; busy all along
                await asyncio.sleep(0.01)
            assert rig.calls == []
            rig.busy = False
            await asyncio.wait_for(rig.collected.wait(), 10)
            assert rig.calls[0] == 2 and gc_.passes >= 1 and gc_.forced == 0
        finally:
            await gc_.close()

    asyncio.run(go())


def test_a_server_that_never_rests_gets_its_pass_after_longest() -> None:
    async def go() -> None:
        rig = Rig()
        gc_ = QuietCollector(rig.activity, every=0.01, quiet=0.01, longest=0.1, collect=rig.collect)
        t = asyncio.get_running_loop().time()
        gc_.start()
        try:
            await asyncio.wait_for(rig.collected.wait(), 10)
            assert asyncio.get_running_loop().time() - t >= 0.1
            assert rig.calls[0] == 2 and gc_.forced == gc_.passes >= 1
        finally:
            await gc_.close()

    asyncio.run(go())


def test_pythons_own_full_passes_are_off_while_it_runs_and_back_after() -> None:
    before = gc.get_threshold()

    async def go() -> None:
        gc_ = QuietCollector(lambda: 0, every=60)
        gc_.start()
        during = gc.get_threshold()
        await gc_.close()
        assert during[:2] == before[:2] and during[2] > 1_000_000  # the young generations as they were
        assert gc.get_threshold() == before

    asyncio.run(go())


def test_hotline_serve_setting_builds_it_and_zero_leaves_pythons_schedule(settings: Settings) -> None:
    off = build(settings.model_copy(update={"gc_full_every": 0.0}))
    assert off.services.gc is None
    off.services.close_database()
    running: Any = build(settings.model_copy(update={"gc_full_every": 30.0}))
    assert isinstance(running.services.gc, QuietCollector) and running.services.gc.every == 30.0
    running.services.close_database()


def test_hotline_serve_has_it_on_unless_the_environment_says(monkeypatch: Any) -> None:
    from hotline_cli.serve import serve_defaults

    monkeypatch.delenv("HOTLINE_GC_FULL_EVERY", raising=False)
    assert serve_defaults(Settings(session_secret="x" * 32)).gc_full_every == 60.0
    monkeypatch.setenv("HOTLINE_GC_FULL_EVERY", "0")
    assert serve_defaults(Settings(session_secret="x" * 32)).gc_full_every == 0.0
    monkeypatch.setenv("HOTLINE_GC_FULL_EVERY", "15")
    assert serve_defaults(Settings(session_secret="x" * 32)).gc_full_every == 15.0


def test_metrics_tell_a_supervisor_its_passes(app: Any, login: Any) -> None:
    sven = login("sven")
    assert "hotline_gc_full" not in sven.get("/metrics").text  # off in this app: Python's own schedule
    gc_ = QuietCollector(lambda: 0, collect=lambda generation: 0)
    gc_.collect_now()
    gc_.collect_now(forced=True)
    app.state.services.gc = gc_
    metrics = sven.get("/metrics").text
    assert "hotline_gc_full_passes_total 2.0" in metrics and "hotline_gc_full_passes_forced_total 1.0" in metrics
    assert "hotline_gc_full_pass_longest_ms" in metrics
