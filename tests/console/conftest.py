"""An app on the test database with the AMI bridge off; users of every role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from agent_console.app import create_app
from agent_console.auth import COOKIE
from agent_console.settings import Settings
from tests.db_fixture import wipe
from tickets.db import make_engine, session_factory
from tickets.models import Role, User
from tickets.users import UserService

PASSWORD = "test-password-1"
_CREATED: dict[str, str] = {}  # username -> the hash this fixture stored
ORIGIN = "http://testserver"
USERS = [("anna", Role.AGENT, "PJSIP/1001"), ("bert", Role.AGENT, "PJSIP/1002"),
         ("sven", Role.SUPERVISOR, None), ("admin", Role.ADMIN, None)]
KEEP = {User.__tablename__}  # the users outlive a test: made once (see app)


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, session_secret="x" * 32, ami_enabled=False, writer_process=False,
                    login_rate_limit_per_minute=5)


@pytest.fixture()
def app(settings: Settings) -> Iterator[Any]:
    engine = make_engine(settings.database_url)
    users = UserService(session_factory(engine))
    wipe(users.sessions, keep=KEEP)
    with users.sessions() as s:
        stored = {u.username: u.password_hash for u in s.scalars(select(User))}
    for name, role, endpoint in USERS:  # argon2 is slow on purpose: create them once
        if name in stored and stored[name] == _CREATED.get(name):
            continue  # still the row this fixture made (other tests may replace users)
        with users.sessions.begin() as s:
            clash = ((User.username == name) | ((User.site == "main") & (User.endpoint == endpoint)) if endpoint
                     else User.username == name)
            s.execute(delete(User).where(clash))
        users.add(name, PASSWORD, role, endpoint)
        with users.sessions() as s:
            _CREATED[name] = s.scalar(select(User.password_hash).where(User.username == name)) or ""
    yield create_app(settings)
    wipe(users.sessions, keep=KEEP)
    engine.dispose()  # its pooled connections closed now, not left to the garbage collector


class Browser:
    """One logged-in user on the shared TestClient: its own session cookie, the CSRF
    header on writes, the Origin header a browser sends."""

    def __init__(self, client: TestClient, cookie: str, csrf: str, user_id: int = 0) -> None:
        self.client, self.cookie, self.csrf, self.user_id = client, cookie, csrf, user_id

    def renew(self) -> None:
        """A fresh session straight from the app (no password check, no throttle):
        for tests that end the session on purpose and go on."""
        services = self.client.app.state.services  # type: ignore[attr-defined]
        self.cookie, who = services.sessions.issue(services.users.get(self.user_id))
        self.csrf = who.csrf

    def headers(self, extra: dict[str, str] | None = None, csrf: bool = True) -> dict[str, str]:
        h = {"Cookie": f"{COOKIE}={self.cookie}", "Origin": ORIGIN}
        if csrf:
            h["X-CSRF-Token"] = self.csrf
        return {**h, **(extra or {})}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers(kw.pop("headers", None), csrf=False), **kw)

    def send(self, method: str, url: str, csrf: bool = True, **kw: Any) -> Any:
        return self.client.request(method, url, headers=self.headers(kw.pop("headers", None), csrf), **kw)

    def ws(self, path: str = "/ws", origin: str = ORIGIN) -> Any:
        return self.client.websocket_connect(path, headers={"Cookie": f"{COOKIE}={self.cookie}",
                                                            "Origin": origin})


@pytest.fixture()
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture()
def login(client: TestClient) -> Any:
    def as_user(name: str) -> Browser:
        r = client.post("/api/session", json={"username": name, "password": PASSWORD},
                        headers={"Origin": ORIGIN})
        assert r.status_code == 200, r.text
        cookie = r.cookies.get(COOKIE)
        client.cookies.clear()
        assert cookie
        return Browser(client, cookie, r.json()["csrf_token"], r.json()["id"])

    return as_user


def settled_match(ws: Any, pop: dict[str, Any], limit: int = 30) -> dict[str, Any]:
    """A pop's match: the ring's own, or, when the lookup was slower than the ring's wait for
    it (a loaded machine: `pending`), the one the call's `call.enriched` brings after it."""
    match: dict[str, Any] = pop["match"]
    for _ in range(limit):
        if match["status"] != "pending":
            return match
        msg = ws.receive_json()
        if msg["type"] == "call.enriched" and msg["data"]["linkedid"] == pop["linkedid"]:
            match = msg["data"]["match"]
    raise AssertionError(f"no match for {pop['linkedid']} after its pending ring")
