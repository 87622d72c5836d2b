"""Issue 12 ("Connection and session") and issue 11's WebSocket note: the socket
follows the session.

Today a handshake without a session was refused before accepting, which a
browser sees as a bare HTTP 403 (no close code the page can act on), an open
socket outlived logout, and one session could open any number of sockets. Now:
close code 4401 at the handshake and within seconds of the session ending,
4429 past HOTLINE_WS_PER_SESSION sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agent_console.app import create_app
from agent_console.auth import COOKIE
from agent_console.settings import Settings
from tests.console import conftest as console
from tests.console.conftest import PASSWORD
from tests.security.auth_app import Clock, Served, add_user, base_settings, login_as, serve_without_pbx

app, client = console.app, console.client  # the console tests' fixtures


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return base_settings(database_url, ws_per_session=2, ws_session_check_seconds=0.2)


@pytest.fixture(scope="module")
def served(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    add_user(module_database_url)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    try:
        with serve_without_pbx(module_database_url, log, HOTLINE_WS_SESSION_CHECK_SECONDS="0.2") as server:
            yield server
    finally:
        print(log.read_text(errors="replace")[-3000:])


def closed_with(ws: Any, limit: int = 3) -> int:
    """Read until the server closes the socket; its close code (no close: a failure)."""
    with pytest.raises(WebSocketDisconnect) as closed:
        for _ in range(limit):  # a ping every 20 s would come first if nothing closed it
            ws.receive_json()
    return int(closed.value.code)


async def ws_close_code(server: Served, cookie: str | None, *, logout: bool = False) -> int:
    headers = {"Origin": server.url, **({"Cookie": f"{COOKIE}={cookie}"} if cookie else {})}
    async with connect(server.url.replace("http", "ws") + "/ws", additional_headers=headers,
                       open_timeout=10) as ws:
        if logout:  # a live session: the feed starts, then the session ends
            assert '"snapshot"' in str(await asyncio.wait_for(ws.recv(), 10))
            async with httpx.AsyncClient(base_url=server.url) as http:
                me = (await http.get("/api/me", headers={"Cookie": f"{COOKIE}={cookie}"})).json()
                r = await http.delete("/api/session", headers={"Cookie": f"{COOKIE}={cookie}", "Origin": server.url,
                                                               "X-CSRF-Token": me["csrf_token"]})
                assert r.status_code == 200
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return int(closed.value.rcvd.code)


async def test_a_real_browser_handshake_without_a_session_gets_close_code_4401(served: Served) -> None:
    assert await ws_close_code(served, None) == 4401
    assert await ws_close_code(served, "not-a-session") == 4401


async def test_logout_closes_the_open_socket_of_a_real_server_with_4401(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as http:
        r = await http.post("/api/session", json={"username": "anna", "password": PASSWORD},
                            headers={"Origin": served.url})
        assert r.status_code == 200, r.text
    assert await ws_close_code(served, r.cookies[COOKIE], logout=True) == 4401


def test_ending_the_session_closes_its_sockets_with_4401(app: Any, client: TestClient) -> None:
    anna, bert = login_as(client, "anna"), login_as(client, "bert")
    with anna.ws() as wa, bert.ws() as wb:
        assert wa.receive_json()["type"] == "snapshot" and wb.receive_json()["type"] == "snapshot"
        assert anna.send("DELETE", "/api/session").status_code == 200
        assert closed_with(wa) == 4401
        app.state.services.hub.publish("agent.state", {"agent": "PJSIP/1009"})  # to everyone still connected
        assert wb.receive_json()["type"] == "agent.state"  # bert's socket stayed open
    assert bert.get("/api/me").status_code == 200


def test_an_expired_session_closes_its_socket_with_4401(app: Any, settings: Settings) -> None:
    clock = Clock()
    with TestClient(create_app(settings, clock)) as timed:
        anna = login_as(timed, "anna")
        with anna.ws() as ws:
            assert ws.receive_json()["type"] == "snapshot"
            clock.advance(hours=12, seconds=1)  # past the absolute lifetime
            assert closed_with(ws) == 4401


def test_at_most_n_sockets_per_session(client: TestClient) -> None:
    anna = login_as(client, "anna")
    with anna.ws() as first, anna.ws() as second:
        assert first.receive_json()["type"] == "snapshot" and second.receive_json()["type"] == "snapshot"
        with anna.ws() as third:
            assert closed_with(third) == 4429
        with login_as(client, "anna").ws() as other_session:  # the cap is per session
            assert other_session.receive_json()["type"] == "snapshot"
    with anna.ws() as again:  # closed sockets free their places
        assert again.receive_json()["type"] == "snapshot"
