"""QueueFeed: the bus's updates and queue_log's calls move the projection; 'today'
starts at local midnight in the hotline's time zone; listeners hear every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callqueue.feed import QueueFeed, day_start
from callqueue.live import QueueProjection
from callqueue.metrics import FinishedCall

from cti import events as ev
from cti.bus import EventBus

T0 = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 23:30 in Berlin


def ended(linkedid: str, at: datetime) -> ev.CallUpdated:
    call = ev.CallSnapshot(
        linkedid=linkedid, caller_raw="0341 1", caller_number="+493411", caller_name="", queue="hotline",
        entered_at=at - timedelta(seconds=40), position=1, ringing_agents=(), answered_at=at - timedelta(seconds=30),
        agent="PJSIP/1001", ended_at=at, outcome=ev.Outcome.ANSWERED, wait_seconds=10.0, ring_seconds=1.0,
        talk_seconds=30.0, duration_seconds=40.0, transferred_to=None)
    return ev.CallUpdated(at, ev.CallChange.ENDED, call)


def test_day_start_is_local_midnight() -> None:
    assert day_start(T0, "Europe/Berlin") == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert day_start(T0, "UTC") == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


async def test_bus_updates_and_recorded_calls_reach_the_projection_and_listeners() -> None:
    now = [T0]
    feed = QueueFeed(QueueProjection(), lambda: now[0], "Europe/Berlin", "hotline")
    bus, changes = EventBus(), []
    feed.subscribe(bus)
    feed.on_change(lambda: changes.append(1))
    feed.load_today([("hotline", T0 - timedelta(minutes=5), FinishedCall("answered", 5.0, 60.0, True))])
    assert feed.projection.today("hotline").answered == 1 and len(changes) == 1
    await bus.publish(ended("a.1", T0))
    await bus.publish(ev.QueueWrapUpTime(T0, "hotline", 15))
    feed.record(ended("q.2", T0))  # from queue_log: never on the bus
    today = feed.projection.today("hotline")
    assert today.answered == 3 and len(changes) == 4
    assert today.aht == (60 + 30 + 30) / 3 + 15


def test_tick_moves_today_at_local_midnight_and_samples() -> None:
    now = [T0]
    feed = QueueFeed(QueueProjection(), lambda: now[0], "Europe/Berlin", "hotline")
    feed.record(ended("a.1", T0))
    feed.tick()
    assert feed.projection.today("hotline").answered == 1
    now[0] = T0 + timedelta(hours=1)  # 00:30 in Berlin: a new day
    feed.tick()
    assert feed.projection.today("hotline").answered == 0
    # the chart starts afresh each day: yesterday's sample is gone
    assert [s.waiting for s in feed.projection.series("hotline")] == [0]
    assert feed.projection.series("hotline")[-1].at == now[0]
