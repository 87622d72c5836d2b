"""agent_console.wallboard.WallboardPush: a dirty view waits for the pops (`after`), bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from callqueue.live import QueueProjection

from agent_console import wallboard
from agent_console.hub import Client, Hub
from agent_console.wallboard import WallboardPush
from cti.bus import EventBus
from tests.console.test_work_queue import until
from tickets.events import CallbacksWaiting

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def queue_updates(client: Client) -> list[dict[str, Any]]:
    out = []
    while not client.queue.empty():
        msg = client.queue.get_nowait()
        if msg is not None and msg.type == "queue.updated":
            out.append(msg.data)
    return out


async def rig(after: Any) -> tuple[WallboardPush, EventBus, Client]:
    hub, bus = Hub(), EventBus()
    supervisor = Client(1, "sup", None, supervisor=True)
    hub.attach(supervisor, None)
    push = WallboardPush(hub, QueueProjection(queues={"hotline"}), lambda: NOW, every=0.01, after=after)
    push.subscribe(bus)
    push.start()
    return push, bus, supervisor


def test_a_dirty_view_goes_out_once_the_pops_are_out() -> None:
    async def go() -> None:
        pops_out = asyncio.Event()
        push, bus, supervisor = await rig(pops_out.wait)
        await bus.publish(CallbacksWaiting("hotline", 2, NOW))
        await asyncio.sleep(0.05)  # the view would have gone out long since (every=0.01)
        assert queue_updates(supervisor) == []
        pops_out.set()
        got: list[dict[str, Any]] = []
        await until(lambda: bool(got.extend(queue_updates(supervisor)) or got))
        assert got[-1]["callbacks"]["count"] == 2
        await push.close()

    asyncio.run(go())


def test_pops_that_never_end_hold_the_view_no_longer_than_yield_max(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wallboard, "YIELD_MAX", 0.05)

    async def go() -> None:
        never = asyncio.Event()
        push, bus, supervisor = await rig(never.wait)
        t = asyncio.get_running_loop().time()
        await bus.publish(CallbacksWaiting("hotline", 3, NOW))
        got: list[dict[str, Any]] = []
        await until(lambda: bool(got.extend(queue_updates(supervisor)) or got))
        assert asyncio.get_running_loop().time() - t >= 0.05
        assert got[-1]["callbacks"]["count"] == 3
        await push.close()

    asyncio.run(go())


def test_the_app_lets_the_pops_and_the_states_held_behind_them_go_first(app: Any) -> None:
    """The composition root hands the wallboard the notifier's `quiet` (the pops and the
    agents' states held for the rest of a burst), not only its `caught_up`."""
    services = app.state.services
    assert services.wallboard.after == services.notifier.quiet
