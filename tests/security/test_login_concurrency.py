"""Issue 11 row 1: the login limit holds under concurrency.

Today's code checked the limit, ran argon2, and counted the failure afterwards,
so 100 simultaneous wrong logins all got 401 and a right password sent among 49
wrong ones got in. The attempt is now counted before the password check, in the
same step as the limit check.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent_console.settings import Settings
from tests.console import conftest as console
from tests.console.conftest import ORIGIN, PASSWORD
from tests.security.auth_app import Gate, base_settings, wait_until

LIMIT = 10

app, client = console.app, console.client  # the console tests' fixtures (users anna, bert, sven, admin)


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return base_settings(database_url, login_rate_limit_per_minute=LIMIT)


def attempt(client: TestClient, password: str) -> int:
    r = client.post("/api/session", json={"username": "anna", "password": password}, headers={"Origin": ORIGIN})
    return r.status_code


def test_100_simultaneous_wrong_logins_get_at_most_the_limit_of_401s(client: TestClient) -> None:
    with ThreadPoolExecutor(100) as pool:
        statuses = Counter(pool.map(lambda _: attempt(client, "wrong-password"), range(100)))
    assert set(statuses) <= {401, 429}, statuses
    assert 1 <= statuses[401] <= LIMIT, statuses
    assert statuses[429] >= 100 - LIMIT


def test_the_right_password_among_49_wrong_ones_is_refused_once_the_limit_is_used(
        app: Any, client: TestClient) -> None:
    services = app.state.services
    gate = Gate(services.users.authenticate)
    services.users.authenticate = gate
    with ThreadPoolExecutor(50) as pool:
        wrong = [pool.submit(attempt, client, "wrong-password") for _ in range(49)]
        try:
            # the attempts past the limit are refused at once, while the others wait at the gate
            wait_until(lambda: sum(f.done() for f in wrong) >= 49 - LIMIT, "the attempts over the limit")
            right = pool.submit(attempt, client, PASSWORD)
            wait_until(lambda: right.done() or gate.entered >= 49, "the right password's answer or check")
        finally:
            gate.opened.set()
        assert right.result() == 429
        statuses = Counter(f.result() for f in wrong)
    assert statuses[401] <= LIMIT and statuses[401] + statuses[429] == 49, statuses
