"""Issue 11 row 5: the login limiter's memory is bounded, and X-Forwarded-For is
believed only from HOTLINE_TRUSTED_PROXIES.

Today's limiter kept a deque per address and per username forever (18,474
requests in 30 s: +16.9 MB never released), and uvicorn believed
X-Forwarded-For from 127.0.0.1 by default, so any local client could pick the
address it was counted under. Checked against a real `hotline serve`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent_console.login_limits import Attempt, LoginLimiter, LoginPolicy
from tests.console.conftest import PASSWORD
from tests.security.auth_app import Served, add_user, serve_without_pbx


def test_the_limiter_forgets_old_keys_and_holds_at_most_max_keys() -> None:
    limiter = LoginLimiter(LoginPolicy(max_keys=1000))
    biggest = 0
    for n in range(20_000):  # a flood of distinct usernames from distinct addresses, 1,000 a second
        attempt = limiter.begin(f"user{n}", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", n / 1000)
        assert isinstance(attempt, Attempt)
        limiter.failed(attempt)
        biggest = max(biggest, len(limiter))
    assert biggest <= 3 * 1000
    limiter.begin("anna", "192.0.2.1", 20 + 3600)  # an hour later everything old has expired
    assert len(limiter) == 3  # only the new attempt's pair, address and streak


@contextlib.contextmanager
def server(database_url: str, folder: Path, **extra: str) -> Iterator[Served]:
    add_user(database_url)
    with serve_without_pbx(database_url, folder / "serve.log", **extra) as served:
        yield served


@pytest.fixture(scope="module")
def untrusting(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with server(module_database_url, tmp_path_factory.mktemp("serve"),
                HOTLINE_LOGIN_ADDRESS_LIMIT_PER_MINUTE="3") as served:
        yield served


@pytest.fixture(scope="module")
def behind_proxy(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with server(module_database_url, tmp_path_factory.mktemp("serve"), HOTLINE_TRUSTED_PROXIES="127.0.0.1") as served:
        yield served


def session_address(server: Served, forwarded_for: str) -> str:
    with httpx.Client(base_url=server.url) as http:
        r = http.post("/api/session", json={"username": "anna", "password": PASSWORD},
                      headers={"Origin": server.url, "X-Forwarded-For": forwarded_for})
        assert r.status_code == 200, r.text
        sessions = http.get("/api/sessions").json()
    return str(next(s["address"] for s in sessions if s["current"]))


def test_x_forwarded_for_is_ignored_by_default(untrusting: Served) -> None:
    assert session_address(untrusting, "203.0.113.5") == "127.0.0.1"
    with httpx.Client(base_url=untrusting.url) as http:
        statuses = [http.post("/api/session", json={"username": f"nobody{n}", "password": "wrong-password"},
                              headers={"Origin": untrusting.url, "X-Forwarded-For": f"203.0.113.{n}"}).status_code
                    for n in range(10, 14)]
    assert statuses == [401, 401, 401, 429]  # one address (the real one), three failures a minute


def test_x_forwarded_for_is_believed_from_a_trusted_proxy(behind_proxy: Served) -> None:
    assert session_address(behind_proxy, "203.0.113.5") == "203.0.113.5"
