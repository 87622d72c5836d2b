"""Broadcasts written straight onto idle sockets (agent_console/ws_direct.py), through a
real uvicorn as `hotline serve` runs it and real WebSocket clients: each socket gets
exactly its audience's messages, in order, none twice; the direct path is really
taken (this fails if a uvicorn or Starlette change turns it off silently); a client
that stops reading is still cut off (4408) and the others go on. Plus the hub's rule
without sockets: a direct writer is used only while nothing is queued or being sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from agent_console.auth import COOKIE
from agent_console.hub import ALL, SUPERVISORS_ONLY, Audience, Client, Hub, Message, agents
from agent_console.services import Services
from tests.console.conftest import PASSWORD
from tests.pbx_fixture import free_tcp_port


@dataclass
class Served:
    base: str
    services: Services
    loop: asyncio.AbstractEventLoop

    def publish(self, type_: str, data: dict[str, Any], audience: Audience = ALL) -> None:
        """hub.publish on the server's loop (where the hub lives), done when this returns."""
        async def go() -> None:
            self.services.hub.publish(type_, data, audience)

        asyncio.run_coroutine_threadsafe(go(), self.loop).result(10)

    def socket(self, stack: contextlib.ExitStack, username: str) -> ClientConnection:
        """`username` logged in, its socket open (closed with `stack`), the snapshot read."""
        r = httpx.post(f"{self.base}/api/session", json={"username": username, "password": PASSWORD},
                       headers={"Origin": self.base}, timeout=30)
        assert r.status_code == 200, r.text
        ws = stack.enter_context(connect(
            f"ws{self.base.removeprefix('http')}/ws", open_timeout=30, max_queue=4,
            additional_headers={"Cookie": f"{COOKIE}={r.cookies[COOKIE]}", "Origin": self.base}))
        assert json.loads(ws.recv(timeout=30))["type"] == "snapshot"
        return ws


@pytest.fixture()
def served(app: Any) -> Iterator[Served]:
    """`app` (the console conftest's: users of every role) behind uvicorn, configured as
    `hotline serve` configures it, on a loop of its own thread."""
    port = free_tcp_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws_max_size=64 * 1024, ws_per_message_deflate=False))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            threading.Event().wait(0.02)
        yield Served(f"http://127.0.0.1:{port}", app.state.services, loop)
    finally:
        server.should_exit = True
        thread.join(30)
        loop.close()


def read_until_marker(ws: ClientConnection, marker: str) -> list[dict[str, Any]]:
    """This test's messages (data with a "k") up to the marker; the app's own (a
    supervisor's wallboard updates, pings) pass by."""
    got: list[dict[str, Any]] = []
    while True:
        msg = json.loads(ws.recv(timeout=20))
        if msg["type"] == "marker" and msg["data"]["id"] == marker:
            return got
        if "k" in msg["data"]:
            got.append(msg)


def test_each_socket_gets_exactly_its_audience_in_order_and_straight(served: Served) -> None:
    with contextlib.ExitStack() as stack:
        anna1, anna2, bert, sven = (served.socket(stack, u) for u in ("anna", "anna", "bert", "sven"))
        for k in range(40):  # mixed audiences, back to back: some go direct, some queue behind
            served.publish("call.ringing", {"k": k}, agents("PJSIP/1001"))
            served.publish("agent.state", {"k": k}, agents("PJSIP/1002", supervisors=True))
            served.publish("queue.updated", {"k": k}, SUPERVISORS_ONLY)
            served.publish("notice", {"k": k}, ALL)
        served.publish("marker", {"id": "end"}, ALL)
        expected = {
            "anna": [(t, k) for k in range(40) for t in ("call.ringing", "notice")],
            "bert": [(t, k) for k in range(40) for t in ("agent.state", "notice")],
            "sven": [(t, k) for k in range(40) for t in ("agent.state", "queue.updated", "notice")],
        }
        for name, ws in (("anna", anna1), ("anna", anna2), ("bert", bert), ("sven", sven)):
            got = read_until_marker(ws, "end")
            assert [(m["type"], m["data"]["k"]) for m in got] == expected[name], name
            seqs = [m["seq"] for m in got]
            assert seqs == sorted(set(seqs)), name  # in order, none twice
        hub = served.services.hub
        assert hub.sent_direct > 0, "the direct path was not taken: see agent_console/ws_direct.py"
        assert hub.dropped_clients == 0


def test_a_socket_that_stops_reading_is_cut_off_and_the_others_go_on(served: Served) -> None:
    with contextlib.ExitStack() as stack:
        stuck, sven = served.socket(stack, "sven"), served.socket(stack, "sven")
        blob = "x" * 8000
        for k in range(3000):  # ~24 MB: past the kernel's buffers, the transport's, then the queue
            served.publish("queue.updated", {"k": k, "blob": blob}, SUPERVISORS_ONLY)
            if k % 100 == 99:  # the other supervisor keeps up
                served.publish("marker", {"id": str(k)}, SUPERVISORS_ONLY)
                assert len(read_until_marker(sven, str(k))) == 100
            if served.services.hub.dropped_clients:
                break
        assert served.services.hub.dropped_clients == 1
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                stuck.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
        served.publish("marker", {"id": "after"}, SUPERVISORS_ONLY)
        read_until_marker(sven, "after")


def test_the_hub_writes_directly_only_to_an_idle_socket_of_the_audience() -> None:
    async def go() -> None:
        hub = Hub()
        written: dict[str, list[int]] = {"anna": [], "bert": []}

        def writer(name: str) -> Any:
            def write(msg: Message) -> bool:
                written[name].append(msg.seq)
                return True
            return write

        anna = Client(1, "anna", "PJSIP/1001", False, direct=writer("anna"))
        bert = Client(2, "bert", "PJSIP/1002", False, direct=writer("bert"))
        for c in (anna, bert):
            hub.attach(c, None)
        first = hub.publish("call.ringing", {}, agents("PJSIP/1001"))
        assert written == {"anna": [first.seq], "bert": []} and anna.queue.empty()  # straight, to anna only
        anna.busy = True  # her sender is writing a queued message: the next waits behind it
        second = hub.publish("notice", {}, ALL)
        anna.busy = False
        third = hub.publish("notice", {}, ALL)  # something is queued for anna: behind it, not past it
        assert written == {"anna": [first.seq], "bert": [second.seq, third.seq]}
        assert [anna.queue.get_nowait(), anna.queue.get_nowait()] == [second, third]
        assert hub.sent_direct == 3 and hub.sent == 5

    asyncio.run(go())


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_the_frame_is_the_one_websockets_would_write(size: int) -> None:
    """ws_direct builds the frame header itself; byte for byte what websockets' own
    Frame.serialize writes, at each length boundary (7-, 16- and 64-bit lengths)."""
    from websockets.frames import Frame, Opcode

    from agent_console.ws_direct import text_frame

    text = ("ä" * size)[: size // 2] + "x" * (size - size // 2)  # multi-byte characters: the length is in bytes
    assert text_frame(text) == Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
