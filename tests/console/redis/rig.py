"""The scale-out tests' rig: instances over real Redis, the fake AMI server's calls, and
what the tests wait for. Fixtures are in this folder's conftest.py.

Redis: $HOTLINE_TEST_REDIS_URL (default the local server). Not reachable is a
failure, never a skip (`./hotline.sh test` starts one).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import redis
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agent_console.auth import COOKIE
from agent_console.settings import Settings
from cti.testing import FakeAmiServer, frame
from tests.console.conftest import PASSWORD, Browser
from tests.tcp_proxy import TcpProxy
from tickets.db import make_engine, session_factory

REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMI_SECRET = "s3cret"  # the fake AMI server's
ORIGIN = "http://testserver"
MARK = "test.marker"


def wait_until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def until(ws: Any, type_: str, limit: int = 30) -> dict[str, Any]:
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == type_:
            return msg  # type: ignore[no-any-return]
    raise AssertionError(f"no {type_} message")


def log_in(client: TestClient, name: str) -> Browser:
    r = client.post("/api/session", json={"username": name, "password": PASSWORD}, headers={"Origin": ORIGIN})
    assert r.status_code == 200, r.text
    cookie = r.cookies.get(COOKIE)
    client.cookies.clear()
    assert cookie
    return Browser(client, cookie, r.json()["csrf_token"])


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def synced(client: TestClient) -> None:
    wait_until(lambda: services(client).pbx.connected, "the web-only instance to sync with the bridge")


def ami(side: BlockingPortal, fake: FakeAmiServer, **fields: str) -> None:
    side.call(fake.send, frame(**fields))


def join(side: BlockingPortal, fake: FakeAmiServer, linkedid: str, number: str = "0341 2538-5555") -> None:
    fake.channels.append({"Channel": "PJSIP/trunk-00000001", "Uniqueid": linkedid, "Linkedid": linkedid,
                          "CallerIDNum": number, "CallerIDName": "Erika", "Application": "Queue",
                          "Duration": "00:00:03"})
    ami(side, fake, Event="QueueCallerJoin", Linkedid=linkedid, Uniqueid=linkedid, Channel="PJSIP/trunk-00000001",
        Queue="hotline", CallerIDNum=number, CallerIDName="Erika <b>M</b>", Position="1")


def ring(side: BlockingPortal, fake: FakeAmiServer, linkedid: str, agent: str) -> None:
    ami(side, fake, Event="AgentCalled", Linkedid=linkedid, Queue="hotline", Interface=agent,
        MemberName=agent[-4:], DestUniqueid=f"{linkedid}1")


def answer(side: BlockingPortal, fake: FakeAmiServer, linkedid: str, agent: str) -> None:
    fake.channels.append({"Channel": f"{agent}-0000000a", "Uniqueid": f"{linkedid}1", "Linkedid": linkedid,
                          "CallerIDNum": "1002", "CallerIDName": "", "Application": "AppQueue",
                          "Duration": "00:00:01", "BridgeId": "b1"})
    ami(side, fake, Event="AgentConnect", Linkedid=linkedid, Queue="hotline", Interface=agent,
        MemberName=agent[-4:], HoldTime="4", RingTime="2", DestChannel=f"{agent}-0000000a")


def hang_up(side: BlockingPortal, fake: FakeAmiServer, linkedid: str) -> None:
    fake.channels[:] = [c for c in fake.channels if c["Linkedid"] != linkedid]
    ami(side, fake, Event="Hangup", Linkedid=linkedid, Uniqueid=linkedid, Channel="PJSIP/trunk-00000001",
        Cause="16")


@contextlib.contextmanager
def behind_proxy(side: BlockingPortal, settings: Settings) -> Iterator[tuple[TcpProxy, Settings]]:
    """A TCP proxy to Redis (cut it to take Redis away) and `settings` that reach Redis through it."""
    target = redis.Redis.from_url(REDIS_URL).connection_pool.connection_kwargs
    proxy = side.call(TcpProxy(int(target.get("port", 6379))).start)
    try:
        yield proxy, settings.model_copy(
            update={"redis_url": f"redis://127.0.0.1:{proxy.port}/{target.get('db', 0)}"})
    finally:
        side.call(proxy.stop)


def count(url: str, model: Any) -> int:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def ticket_updates(client: TestClient, ws: Any, settle: float = 0.5, expect: int = 0) -> list[dict[str, Any]]:
    """Every `ticket.updated` this socket got (see `messages`)."""
    return messages(client, ws, "ticket.updated", settle, expect)


def messages(client: TestClient, ws: Any, type_: str, settle: float = 0.5, expect: int = 0,
             within: float = 10.0) -> list[dict[str, Any]]:
    """Every `type_` message this socket got. Waits (up to `within` s) until `expect` of
    them came, then `settle` s more (time for a duplicate to cross Redis); each read ends
    at a marker sent through the instance's hub."""
    seen = _up_to_marker(client, ws, type_)
    deadline = time.monotonic() + within
    while len(seen) < expect and time.monotonic() < deadline:
        time.sleep(0.02)
        seen += _up_to_marker(client, ws, type_)
    time.sleep(settle)
    return seen + _up_to_marker(client, ws, type_)


def _up_to_marker(client: TestClient, ws: Any, type_: str) -> list[dict[str, Any]]:
    token = uuid.uuid4().hex  # markers reach every socket of the instance: read up to ours
    client.portal.call(services(client).hub.publish, MARK, {"token": token})  # type: ignore[union-attr]
    seen: list[dict[str, Any]] = []
    for _ in range(200):
        msg = ws.receive_json()
        if msg["type"] == MARK and msg["data"]["token"] == token:
            return seen
        if msg["type"] == type_:
            seen.append(msg["data"])
    raise AssertionError("no marker")
