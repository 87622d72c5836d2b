"""The FastAGI server over real sockets: answers, fallback on a late or failing
script, garbage and unknown scripts closed, and never past its deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from cti.agi import AgiRequest
from cti.agi_server import AgiScript, AgiServer, Variables

pytestmark = pytest.mark.timing  # deadlines measured on the wall clock: the live phase, alone

HEADER = (b"agi_network: yes\nagi_network_script: {script}\nagi_uniqueid: 17.1\n"
          b"agi_callerid: +4934125385555\nagi_arg_1: 17.1\n\n")


async def _route(request: AgiRequest) -> Variables:
    return [("HOTLINE_QUEUE", "hotline"), ("HOTLINE_ROUTE_REASON", f"known:{request.args[0]}")]


async def _slow(request: AgiRequest) -> Variables:
    await asyncio.sleep(5)
    return [("HOTLINE_ROUTE_REASON", "never")]


async def _broken(request: AgiRequest) -> Variables:
    raise RuntimeError("database gone")


def _fallback(request: AgiRequest, reason: str) -> Variables:
    return [("HOTLINE_ROUTE_REASON", f"fallback:{reason}")]


@pytest.fixture
async def server() -> AsyncIterator[AgiServer]:
    srv = AgiServer({"route": AgiScript(_route, _fallback), "slow": AgiScript(_slow, _fallback),
                     "broken": AgiScript(_broken, _fallback)}, port=0, deadline=0.3)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.close()


async def _asterisk(port: int, header: bytes, reply: bytes = b"200 result=1\n") -> tuple[list[str], float]:
    """Play Asterisk: send the header, answer every command with `reply`, until closed."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(header)
    commands: list[str] = []
    try:
        while line := await asyncio.wait_for(reader.readline(), 2):
            commands.append(line.decode().rstrip("\n"))
            writer.write(reply)
    finally:
        writer.close()
        await writer.wait_closed()
    return commands, time.perf_counter() - started


async def test_route_sets_its_variables(server: AgiServer) -> None:
    commands, _ = await _asterisk(server.port, HEADER.replace(b"{script}", b"route"))
    assert commands == ['SET VARIABLE HOTLINE_QUEUE "hotline"',
                        'SET VARIABLE HOTLINE_ROUTE_REASON "known:17.1"']
    assert server.stats.answered == 1 and server.stats.fallbacks == 0


@pytest.mark.parametrize(("script", "reason"), [("slow", "timeout"), ("broken", "error")])
async def test_late_or_failing_script_answers_its_fallback_within_the_deadline(
        server: AgiServer, script: str, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    commands, took = await _asterisk(server.port, HEADER.replace(b"{script}", script.encode()))
    assert commands == [f'SET VARIABLE HOTLINE_ROUTE_REASON "fallback:{reason}"']
    assert took < 0.3 + 0.1
    assert server.stats.fallbacks == 1


@pytest.mark.parametrize("header", [
    HEADER.replace(b"{script}", b"nosuchscript"),
    b"GET / HTTP/1.1\r\n\r\n",
    b"\x00\xff garbage\n\n",
])
async def test_unknown_script_or_garbage_is_closed_without_commands(server: AgiServer, header: bytes) -> None:
    commands, took = await _asterisk(server.port, header)
    assert commands == [] and took < 0.3
    assert server.stats.refused == 1


async def test_silent_peer_is_cut_at_the_deadline(server: AgiServer) -> None:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"agi_network: yes\n")  # and never the blank line
    assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the server
    assert 0.25 <= time.perf_counter() - started < 0.6
    writer.close()
    await writer.wait_closed()


async def test_an_error_reply_is_logged_and_the_rest_still_goes_out(server: AgiServer) -> None:
    commands, _ = await _asterisk(server.port, HEADER.replace(b"{script}", b"route"),
                                  reply=b"510 Invalid or unknown command\n")
    assert len(commands) == 2
    assert server.stats.answered == 1


async def test_hangup_ends_the_request(server: AgiServer) -> None:
    commands, _ = await _asterisk(server.port, HEADER.replace(b"{script}", b"route"), reply=b"HANGUP\n")
    assert len(commands) == 1
    assert server.stats.refused == 1


async def test_many_at_once_each_within_the_deadline(server: AgiServer) -> None:
    results = await asyncio.gather(*(_asterisk(server.port, HEADER.replace(b"{script}", b"route"))
                                     for _ in range(50)))
    assert all(len(c) == 2 for c, _ in results)
    assert server.stats.answered == 50
