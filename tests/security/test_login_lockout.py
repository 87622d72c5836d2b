"""Issue 11 row 3: nobody can lock an account for everyone, and an office behind
one NAT address is not locked out (OWASP ASVS 2.2.1 style throttling).

Today's code refused a username for a minute after 10 failures from anywhere,
and an address after 10 failures for any usernames. Now the strict limit is per
(username, address); a username's exponential backoff applies to the addresses
that failed for it; the per-address limit is high. The pure throttle is tested
with explicit times; the API tests log in "from" addresses through
X-Forwarded-For (the TestClient is a trusted proxy in these settings).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent_console.login_limits import Attempt, LoginLimiter, LoginPolicy, Refused
from agent_console.settings import Settings
from tests.console import conftest as console
from tests.console.conftest import PASSWORD
from tests.security.auth_app import base_settings, post_login

ATTACKER, OWNER, OFFICE = "203.0.113.66", "198.51.100.7", "192.0.2.10"

app, client = console.app, console.client  # the console tests' fixtures (users anna, bert, sven, admin)


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return base_settings(database_url, login_rate_limit_per_minute=5, login_address_limit_per_minute=100)


def test_hammering_a_username_does_not_lock_its_owner_out_elsewhere(client: TestClient) -> None:
    statuses = [post_login(client, "anna", "wrong-password", ATTACKER).status_code for _ in range(12)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
    refused = post_login(client, "anna", PASSWORD, ATTACKER)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    # the owner, at another address, with the right password: straight in
    assert post_login(client, "anna", PASSWORD, OWNER).status_code == 200


def test_an_office_behind_one_address_is_not_locked_out(client: TestClient) -> None:
    for colleague in range(30):  # thirty people mistype their password once, all behind one NAT address
        assert post_login(client, f"colleague{colleague}", "typo-typo", OFFICE).status_code == 401
    assert post_login(client, "anna", PASSWORD, OFFICE).status_code == 200
    assert post_login(client, "bert", PASSWORD, OFFICE).status_code == 200


def test_one_address_trying_many_usernames_is_slowed(client: TestClient, app: Any) -> None:
    app.state.services.login.limiter.policy = LoginPolicy(per_pair=5, per_address=20)
    statuses = [post_login(client, f"guess{n}", "password1", ATTACKER).status_code for n in range(25)]
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}, statuses
    assert post_login(client, "anna", PASSWORD, OWNER).status_code == 200


def begin(limiter: LoginLimiter, address: str, now: float, account: str = "anna") -> Attempt | Refused:
    return limiter.begin(account, address, now)


def test_the_backoff_doubles_per_failure_and_a_success_resets_it() -> None:
    limiter = LoginLimiter(LoginPolicy(per_pair=1000, free_failures=3, backoff_base=1.0, backoff_max=8.0))
    now = 1000.0
    for _ in range(3):  # the free failures
        attempt = begin(limiter, ATTACKER, now)
        assert isinstance(attempt, Attempt)
        limiter.failed(attempt)
    waits = []
    for _ in range(6):
        refused = begin(limiter, ATTACKER, now)
        assert isinstance(refused, Refused)
        waits.append(round(refused.retry_after))
        now += refused.retry_after
        attempt = begin(limiter, ATTACKER, now)
        assert isinstance(attempt, Attempt), attempt
        limiter.failed(attempt)
    assert waits == [1, 2, 4, 8, 8, 8]  # doubling, capped at backoff_max
    # another address that never failed for anna is not held back at all
    ok = begin(limiter, OWNER, now)
    assert isinstance(ok, Attempt)
    limiter.succeeded(ok)
    # the success ended the streak: the attacker's address is free again (within its own limits)
    assert isinstance(begin(limiter, ATTACKER, now), Attempt)


def test_a_distributed_attack_slows_the_username_for_every_address() -> None:
    limiter = LoginLimiter(LoginPolicy(per_pair=1000, free_failures=5, everyone_after=50, backoff_max=60))
    now = 0.0
    for n in range(50):  # fifty addresses, one try each, a second apart (no backoff for fresh addresses)
        attempt = begin(limiter, f"10.0.{n // 250}.{n % 250}", now + n)
        assert isinstance(attempt, Attempt), (n, attempt)
        limiter.failed(attempt)
    refused = begin(limiter, OWNER, now + 50)  # past `everyone_after`: even a fresh address waits
    assert isinstance(refused, Refused) and refused.retry_after > 1


def test_a_refused_check_does_not_count_and_a_cancelled_one_is_refunded() -> None:
    limiter = LoginLimiter(LoginPolicy(per_pair=2, free_failures=100))
    first = begin(limiter, ATTACKER, 0.0)
    assert isinstance(first, Attempt)
    limiter.cancel(first)  # it never reached the password check (the check's queue was full)
    for _ in range(2):
        attempt = begin(limiter, ATTACKER, 1.0)
        assert isinstance(attempt, Attempt)
        limiter.failed(attempt)
    assert isinstance(begin(limiter, ATTACKER, 2.0), Refused)
    assert isinstance(begin(limiter, ATTACKER, 2.0 + 121), Attempt)  # two windows later: forgotten
