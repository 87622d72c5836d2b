"""Shared pieces of the login/session security tests: settings, a settable clock,
logging in from a chosen address, and a real `hotline serve` without a PBX.

The API tests reuse tests/console/conftest.py's `app`, `client` and `login`
fixtures (users anna, bert, sven, admin); each module defines its own `settings`.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from agent_console.auth import COOKIE
from agent_console.settings import Settings
from tests.console.conftest import ORIGIN, PASSWORD, Browser
from tests.pbx_fixture import free_tcp_port
from tests.serve_process import serve
from tickets.db import make_engine, session_factory
from tickets.models import Role
from tickets.users import UserService

SECRET = "s" * 32


def base_settings(database_url: str, **overrides: Any) -> Settings:
    """The API tests' settings; X-Forwarded-For is believed from the TestClient, so a
    test can log in "from" any address."""
    values: dict[str, Any] = {"database_url": database_url, "session_secret": SECRET, "ami_enabled": False,
                               "writer_process": False, "login_rate_limit_per_minute": 5,
                               "trusted_proxies": "testclient", "login_refusal_delay_seconds": 0}
    return Settings(**{**values, **overrides})


class Clock:
    """The app's clock, moved by the test (sessions expire without waiting)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def post_login(client: TestClient, username: str, password: str, address: str | None = None) -> Any:
    headers = {"Origin": ORIGIN}
    if address:
        headers["X-Forwarded-For"] = address
    r = client.post("/api/session", json={"username": username, "password": password}, headers=headers)
    client.cookies.clear()  # every test browser keeps its own cookie
    return r


def login_as(client: TestClient, username: str, address: str | None = None,
             password: str = PASSWORD) -> Browser:
    r = post_login(client, username, password, address)
    assert r.status_code == 200, r.text
    cookie = r.cookies.get(COOKIE)
    assert cookie
    return Browser(client, cookie, r.json()["csrf_token"], r.json()["id"])


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[str]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextlib.contextmanager
def serve_without_pbx(database_url: str, log: Path, **extra: str) -> Iterator[Served]:
    """`hotline serve` as a process (uvicorn, real sockets), AMI off; X-Forwarded-For
    trusted only when `extra` says so."""
    port = free_tcp_port()
    extra = {"HOTLINE_WRITER_PROCESS": "false", "HOTLINE_TRUSTED_PROXIES": "", **extra}
    with serve(None, database_url, port, SECRET, log, **extra) as proc:
        yield Served(f"http://127.0.0.1:{port}", proc)


def raw_http(port: int, head: bytes, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(head)
    return sock


def read_status(sock: socket.socket, deadline: float) -> int | None:
    """The status code of the response on `sock`, or None if none came by `deadline`."""
    data = b""
    while b"\r\n" not in data and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            return None
        except ConnectionResetError:  # closed with our unread bytes in its buffer: the answer may be lost
            break
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None


class Gate:
    """Holds every password check until opened, so the test decides what overlaps."""

    def __init__(self, check: Callable[..., Any]) -> None:
        self.check, self.opened, self.entered = check, threading.Event(), 0

    def __call__(self, username: str, password: str) -> Any:
        self.entered += 1
        self.opened.wait(30)
        return self.check(username, password)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def add_user(database_url: str, name: str = "anna", endpoint: str | None = "PJSIP/1001") -> None:
    users = UserService(session_factory(make_engine(database_url)))
    if name not in {u.username for u in users.all()}:
        users.add(name, PASSWORD, Role.AGENT if endpoint else Role.SUPERVISOR, endpoint)
