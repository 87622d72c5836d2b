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

import time
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


def test_an_attack_from_many_addresses_never_locks_out_the_owner() -> None:
    limiter = LoginLimiter(LoginPolicy(per_pair=1000, free_failures=5, backoff_max=60, max_suspects=100))
    attackers = [f"10.0.{n // 250}.{n % 250}" for n in range(300)]
    for n, address in enumerate(attackers):  # three hundred addresses, one guess each, a second apart
        attempt = begin(limiter, address, float(n))
        assert isinstance(attempt, Attempt), (n, attempt)
        limiter.failed(attempt)
    # an address that guessed lately waits out the username's backoff, grown to its cap
    refused = begin(limiter, attackers[-1], 300.0)
    assert isinstance(refused, Refused) and refused.retry_after > 50
    # the owner's address never failed: straight to the password check
    assert isinstance(begin(limiter, OWNER, 300.0), Attempt)


def test_an_address_becomes_a_suspect_after_a_few_unsuccessful_attempts() -> None:
    limiter = LoginLimiter(LoginPolicy(suspect_after=3, free_failures=100))
    flags = []
    for n in range(5):
        attempt = begin(limiter, ATTACKER, 0.0, f"user{n}")
        assert isinstance(attempt, Attempt)
        flags.append(attempt.suspect)
        limiter.cancel(attempt)  # even refused for want of a free check, it counts for the address
    assert flags == [False, False, False, True, True]
    mistyped = begin(limiter, OWNER, 0.0)
    assert isinstance(mistyped, Attempt)
    limiter.failed(mistyped)
    assert not getattr(begin(limiter, OWNER, 1.0), "suspect", True)  # one typo: still in the ordinary lane


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


def test_a_check_refused_for_want_of_capacity_does_not_hold_the_owner_back() -> None:
    limiter = LoginLimiter(LoginPolicy(per_pair=1000, free_failures=2))
    for n in range(3):  # someone hammers anna from elsewhere: her streak is past the free failures
        attempt = begin(limiter, f"10.9.9.{n}", 0.0)
        assert isinstance(attempt, Attempt)
        limiter.failed(attempt)
    busy = begin(limiter, OWNER, 0.0)
    assert isinstance(busy, Attempt)
    limiter.cancel(busy)  # 503: the password checks were busy, hers was never checked
    assert isinstance(begin(limiter, OWNER, 0.0), Attempt)  # so she may try again at once


def test_a_throttled_login_hears_so_only_after_a_pause(client: TestClient, app: Any) -> None:
    app.state.services.login.refusal_delay = 0.5  # (these tests run without it)
    statuses = [post_login(client, "anna", "wrong-password", ATTACKER).status_code for _ in range(5)]
    assert statuses == [401] * 5
    started = time.monotonic()
    assert post_login(client, "anna", "wrong-password", ATTACKER).status_code == 429
    assert time.monotonic() - started >= 0.5  # a script that fires its next guess at once is slowed down
