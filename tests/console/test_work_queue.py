"""agent_console.work_queue: items in order, a waiting key parked while the rest goes on."""

from __future__ import annotations

import asyncio
from typing import Any

from agent_console.work_queue import Wait, WorkQueue


class Rig:
    """Items are strings "<key><n>"; `waits` maps an item to the future it waits for."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.done: list[str] = []
        self.errors: list[object] = []
        self.waits: dict[str, asyncio.Future[Any]] = {}
        self.timeout = timeout
        self.queue: WorkQueue[str] = WorkQueue(self.handle, lambda item: item[0], self.wait_of,
                                               lambda: None, self.errors.append, "test")

    async def handle(self, item: str) -> None:
        if item.endswith("!"):
            raise RuntimeError(item)
        self.done.append(item)

    def wait_of(self, item: str) -> Wait[str] | None:
        if item.endswith("?"):
            raise RuntimeError("no idea")
        fut = self.waits.pop(item, None)
        return None if fut is None else (item + "*", fut, self.timeout)


async def until(pred: Any) -> None:
    for _ in range(500):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never")


def test_a_waiting_key_queues_its_later_items_and_the_rest_goes_on() -> None:
    async def go() -> None:
        rig = Rig()
        gate: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        rig.waits["a1"] = gate
        rig.queue.start()
        for item in ("a1", "b1", "a2", "b2"):
            rig.queue.put_nowait(item)
        await until(lambda: rig.done == ["b1", "b2"])
        assert rig.queue.parked == frozenset({"a"})
        gate.set_result(None)
        await asyncio.wait_for(rig.queue.drain(), 5)
        assert rig.done == ["b1", "b2", "a1*", "a2"]  # a1 as its wait made it, then a2 behind it
        assert rig.queue.parked == frozenset()
        await rig.queue.stop()

    asyncio.run(go())


def test_a_wait_that_never_ends_ends_at_its_bound() -> None:
    async def go() -> None:
        rig = Rig(timeout=0.05)
        rig.waits["a1"] = asyncio.get_running_loop().create_future()  # never done
        rig.queue.start()
        rig.queue.put_nowait("a1")
        rig.queue.put_nowait("a2")
        await asyncio.wait_for(rig.queue.drain(), 5)
        assert rig.done == ["a1*", "a2"]
        await rig.queue.stop()

    asyncio.run(go())


def test_an_item_behind_a_wait_may_wait_in_its_turn() -> None:
    async def go() -> None:
        rig = Rig()
        loop = asyncio.get_running_loop()
        first, second = loop.create_future(), loop.create_future()
        rig.waits.update({"a1": first, "a2": second})
        rig.queue.start()
        for item in ("a1", "a2", "a3"):
            rig.queue.put_nowait(item)
        await until(lambda: rig.queue.parked)
        first.set_result(None)
        await until(lambda: rig.done == ["a1*"])
        assert rig.queue.parked == frozenset({"a"})  # a2 waits now, a3 behind it
        second.set_result(None)
        await asyncio.wait_for(rig.queue.drain(), 5)
        assert rig.done == ["a1*", "a2*", "a3"]
        await rig.queue.stop()

    asyncio.run(go())


def test_a_failing_item_or_wait_is_said_and_the_queue_goes_on() -> None:
    async def go() -> None:
        rig = Rig()
        rig.queue.start()
        for item in ("a1!", "b1?", "c1"):
            rig.queue.put_nowait(item)
        await asyncio.wait_for(rig.queue.drain(), 5)
        assert rig.done == ["b1?", "c1"]  # b1's wait_of failed: it went without waiting
        assert rig.errors == ["a1!", "b1?"]
        await rig.queue.stop()

    asyncio.run(go())


def test_caught_up_waits_for_what_is_queued_not_for_what_is_parked() -> None:
    async def go() -> None:
        rig = Rig()
        gate: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        rig.waits["a1"] = gate
        for item in ("a1", "b1", "b2"):
            rig.queue.put_nowait(item)
        caught_up = asyncio.ensure_future(rig.queue.caught_up())
        await asyncio.sleep(0.05)
        assert not caught_up.done()  # three items queued and the queue's task not started
        rig.queue.start()
        await asyncio.wait_for(caught_up, 5)
        assert rig.done == ["b1", "b2"]  # b1, b2 out; a1 parked, and that does not hold caught_up
        assert rig.queue.parked == frozenset({"a"})
        gate.set_result(None)
        await asyncio.wait_for(rig.queue.drain(), 5)
        assert rig.done == ["b1", "b2", "a1*"]
        await rig.queue.stop()

    asyncio.run(go())
