"""AmiClient and AmiBridge against a real TCP fake AMI server: the faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti import events as ev
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.calls import CallRegistry
from cti.connection import AmiClient, AmiError, ConnectionLost
from cti.protocol import AmiMessage
from cti.testing import FakeAmiServer, frame
from tests.factories import capture_events

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "transcripts"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmiServer]:
    server = await FakeAmiServer().start()
    yield server
    await server.stop()


async def until(pred, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def client(fake: FakeAmiServer, got: list[AmiMessage], **kw: object) -> AmiClient:
    return AmiClient("127.0.0.1", fake.port, "hotline", kw.pop("secret", fake.secret),  # type: ignore[arg-type]
                     on_message=got.append, **kw)  # type: ignore[arg-type]


async def test_wrong_secret_is_a_clear_error_and_retried(fake: FakeAmiServer) -> None:
    c = client(fake, [], secret="wrong", backoff_max=0.05)
    c.start()
    await until(lambda: "login refused" in c.last_error and c.stats.reconnects >= 2)
    assert not c.connected.is_set()
    await c.close()


async def test_garbage_and_truncated_frames_do_not_stop_the_stream(fake: FakeAmiServer) -> None:
    got: list[AmiMessage] = []
    c = client(fake, got)
    c.start()
    await c.connected.wait()
    await fake.send(b"\x00\xff\xfe garbage line\r\nno colon here\r\n\r\n"
                    + frame(Event="A") + b"Event: Trunc\r\nKey: val")  # cut mid-frame
    await fake.send(b"ue\r\n\r\n" + frame(Event="B"))
    await until(lambda: [m.name for m in got][-3:] == ["A", "Trunc", "B"])
    assert got[-2].get("Key") == "value"
    assert c.stats.malformed_lines >= 2
    await c.close()


async def test_oversized_frame_refused_and_next_event_arrives(fake: FakeAmiServer) -> None:
    got: list[AmiMessage] = []
    c = client(fake, got, max_frame=4096)
    c.start()
    await c.connected.wait()
    await fake.send(b"Event: Huge\r\n" + b"X: " + b"y" * 100_000 + b"\r\n\r\n" + frame(Event="After"))
    await until(lambda: any(m.name == "After" for m in got))
    assert not any(m.name == "Huge" for m in got)
    assert c.stats.oversized_frames == 1
    await c.close()


async def test_flood_reaches_a_slow_consumer_in_order_without_stalling_the_reader(
        fake: FakeAmiServer) -> None:
    seen: list[int] = []

    async def slow(msg: AmiMessage) -> None:
        seen.append(int(msg.get("N")))
        if len(seen) % 1000 == 0:
            await asyncio.sleep(0.01)

    c = AmiClient("127.0.0.1", fake.port, "hotline", fake.secret, on_message=slow)
    c.start()
    await c.connected.wait()
    n = 50_000
    await fake.send(b"".join(frame(Event="Flood", N=str(i)) for i in range(n)))
    # the reader has read everything long before the consumer is done
    await until(lambda: c.stats.events >= n + 1, timeout=20)
    assert len(seen) < n + 1 or seen == list(range(n))
    await until(lambda: len(seen) == n + 1 - 1 or len(seen) >= n, timeout=30)
    assert seen[:n] == list(range(n))
    await c.close()


async def test_pending_originate_fails_and_is_never_resent(fake: FakeAmiServer) -> None:
    c = client(fake, [], backoff_max=0.05)
    c.start()
    await c.connected.wait()
    task = asyncio.create_task(c.send_action("Originate", {"Channel": "PJSIP/1001"}, timeout=5))
    await until(lambda: "Originate" in fake.names())
    fake.drop()
    with pytest.raises(ConnectionLost):
        await task
    await until(lambda: fake.logins >= 2)
    await asyncio.sleep(0.3)
    assert fake.names().count("Originate") == 1
    await c.close()


async def test_missing_pong_drops_and_reconnects(fake: FakeAmiServer) -> None:
    fake.answer_pings = False
    c = client(fake, [], ping_interval=0.1, action_timeout=0.2, backoff_max=0.05)
    c.start()
    await until(lambda: fake.logins >= 2, timeout=5)
    assert "ping failed" in c.last_error
    await c.close()


async def test_a_late_pong_keeps_a_link_that_still_streams_events(fake: FakeAmiServer) -> None:
    """A saturated stream: the Pong waits behind the events, which keep coming. Dropping the
    link then would lose what was not read yet; only a link silent for the whole timeout goes."""
    fake.answer_pings = False
    c = client(fake, [], ping_interval=0.1, action_timeout=0.5, backoff_max=0.05)
    c.start()
    await c.connected.wait()
    for n in range(1_000):  # an event every 20 ms until two Pings went unanswered
        await fake.send(frame(Event="VarSet", Variable="N", Value=str(n)))
        if c.stats.late_pongs >= 2:
            break
        await asyncio.sleep(0.02)
    assert c.stats.late_pongs >= 2 and fake.logins == 1 and c.connected.is_set()
    await until(lambda: fake.logins >= 2, timeout=5)  # the stream stops: no Pong, nothing else
    assert "no Pong and nothing else for 0.5 s" in c.last_error
    await c.close()


async def test_error_response_raises(fake: FakeAmiServer) -> None:
    c = client(fake, [])
    c.start()
    await c.connected.wait()
    writer, c._writer = c._writer, None  # as if the connection were gone
    with pytest.raises(ConnectionLost):
        await c.send_action("Ping")
    c._writer = writer  # so close() closes the socket (no unclosed transport left to the GC)
    await c.close()


async def _bridge(fake: FakeAmiServer, secret: str = "") -> tuple[AmiBridge, list[object]]:
    bus = EventBus()
    seen = capture_events(bus)
    bridge = AmiBridge(host="127.0.0.1", port=fake.port, username="hotline",
                       secret=secret or fake.secret,
                       bus=bus, registry=CallRegistry())
    bridge.client.backoff_max = 0.05
    bridge.start()
    return bridge, seen


async def test_restart_is_detected_and_lost_calls_end_once_after_resync(fake: FakeAmiServer) -> None:
    bridge, seen = await _bridge(fake)
    await until(lambda: bridge.resyncs == 1)
    await fake.send((TRANSCRIPTS / "answered.ami").read_bytes().split(b"Event: AgentConnect")[0])
    await until(lambda: len(bridge.registry.calls()) == 1)
    fake.uptime = 3  # Asterisk restarted: every call is gone
    fake.drop()
    await until(lambda: bridge.resyncs == 2)
    connected = [e for e in seen if isinstance(e, ev.PbxConnected)]
    assert [c.restarted for c in connected] == [False, True]
    ended = [e for e in seen if isinstance(e, ev.CallUpdated) and e.change == "ended"]
    assert len(ended) == 1 and ended[0].call.outcome == "abandoned"
    assert bridge.registry.calls() == []
    assert any(isinstance(e, ev.PbxDisconnected) for e in seen)
    await bridge.close()


async def test_reconnect_resync_keeps_a_call_asterisk_still_has(fake: FakeAmiServer) -> None:
    bridge, seen = await _bridge(fake)
    await until(lambda: bridge.resyncs == 1)
    await fake.send(frame(Event="QueueCallerJoin", Linkedid="77.1", Uniqueid="77.1", Queue="hotline",
                          CallerIDNum="0341 2538-5555", CallerIDName="Erika", Position="1"))
    await until(lambda: len(bridge.registry.calls()) == 1)
    fake.entries = [{"Queue": "hotline", "Uniqueid": "77.1", "Linkedid": "77.1", "Position": "1",
                     "CallerIDNum": "0341 2538-5555", "CallerIDName": "Erika", "Wait": "12"}]
    fake.drop()  # same uptime: a network cut, not a restart
    await until(lambda: bridge.resyncs == 2)
    assert [c.linkedid for c in bridge.registry.calls()] == ["77.1"]
    assert not [e for e in seen if isinstance(e, ev.CallUpdated) and e.change == "ended"]
    await bridge.close()


async def test_wrong_secret_never_connects_the_bridge(fake: FakeAmiServer) -> None:
    bridge, _ = await _bridge(fake, secret="not-the-secret")
    await asyncio.sleep(0.3)
    assert not bridge.connected and "refused" in bridge.client.last_error
    await bridge.close()
    assert AmiError  # the error type callers catch
