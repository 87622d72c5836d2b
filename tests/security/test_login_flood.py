"""Issue 11 row 2: a login flood does not starve the routes that share AnyIO's
thread pool.

Today's code ran argon2 through `run_in_threadpool`: 48 concurrent failed logins
took the pool and /healthz waited seconds. Password checks now run on their own
executor (HOTLINE_LOGIN_WORKERS + HOTLINE_LOGIN_QUEUE); beyond that a login gets
503 at once. The flood's figures against a real server are bench/bench_login_flood.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent_console.password_pool import PasswordPool, PoolFull
from agent_console.settings import Settings
from tests.console import conftest as console
from tests.console.conftest import PASSWORD
from tests.security.auth_app import Gate, base_settings, post_login, wait_until

pytestmark = pytest.mark.timing  # deadlines measured on the wall clock: the live phase, alone

FLOOD = 60

app, client, login = console.app, console.client, console.login  # the console tests' fixtures


@pytest.fixture()
def settings(database_url: str) -> Settings:
    return base_settings(database_url, login_workers=2, login_queue=8)


def test_a_login_flood_leaves_plain_routes_their_threads(app: Any, client: TestClient, login: Any) -> None:
    anna = login("anna")
    services = app.state.services
    gate = Gate(services.users.authenticate)  # every password check hangs until the test is done
    services.users.authenticate = gate
    lane = services.login.clean  # first attempts from every address: none has failed yet
    capacity = lane.capacity
    with ThreadPoolExecutor(FLOOD + 1) as pool:
        flood = [pool.submit(lambda n: post_login(client, f"user{n}", "wrong-password", f"10.1.{n}.1").status_code, n)
                 for n in range(FLOOD)]
        try:
            # what the checks cannot take is refused at once, not queued
            wait_until(lambda: sum(f.done() for f in flood) >= FLOOD - capacity, "the refused logins")
            started = time.monotonic()
            me = pool.submit(anna.get, "/api/me")
            wait_until(me.done, "GET /api/me during the flood", timeout=5)
            assert me.result().status_code == 200 and time.monotonic() - started < 2
            assert gate.entered <= lane.workers
        finally:
            gate.opened.set()
        statuses = Counter(f.result() for f in flood)
    assert statuses[503] >= FLOOD - capacity and statuses[401] <= capacity, statuses


def test_a_flood_from_failing_addresses_leaves_the_real_user_a_check(app: Any, client: TestClient) -> None:
    services = app.state.services
    limiter = services.login.limiter
    limiter.policy = dataclasses.replace(limiter.policy, suspect_after=1)  # one failure makes a suspect here
    attackers = [f"10.2.0.{n}" for n in range(20)]
    for address in attackers:  # each has failed once: from now on they are suspects
        assert post_login(client, "nobody", "wrong-password", address).status_code == 401
    gate = Gate(services.users.authenticate)
    services.users.authenticate = lambda user, pw: gate(user, pw) if user != "anna" else gate.check(user, pw)
    with ThreadPoolExecutor(FLOOD) as pool:
        flood = [pool.submit(lambda n: post_login(client, f"user{n}", "wrong-password",
                                                  attackers[n % 20]).status_code, n) for n in range(FLOOD)]
        try:
            suspects = services.login.suspect
            wait_until(lambda: sum(f.done() for f in flood) >= FLOOD - suspects.capacity, "the refused logins")
            assert suspects.in_flight == suspects.capacity  # the suspects' lane is full
            assert post_login(client, "anna", PASSWORD, "198.51.100.7").status_code == 200  # straight in
        finally:
            gate.opened.set()
        statuses = Counter(f.result() for f in flood)
    assert statuses[503] >= FLOOD - suspects.capacity, statuses


async def test_the_pool_refuses_beyond_workers_plus_queue_and_counts_down_when_work_ends() -> None:
    pool = PasswordPool(workers=1, queue=1)
    release = threading.Event()
    try:
        first = asyncio.ensure_future(pool.run(release.wait, 10))
        second = asyncio.ensure_future(pool.run(release.wait, 10))
        await asyncio.sleep(0)
        assert pool.in_flight == 2
        with pytest.raises(PoolFull):
            await pool.run(release.wait, 10)
        first.cancel()  # the browser gave up; its check still runs and keeps its place
        await asyncio.sleep(0)
        assert pool.in_flight == 2
        release.set()
        assert await second is True
        deadline = time.monotonic() + 5
        while pool.in_flight and time.monotonic() < deadline:  # noqa: ASYNC110 (the count has no event)
            await asyncio.sleep(0.01)
        assert pool.in_flight == 0
        assert await pool.run(lambda: 42) == 42
    finally:
        release.set()
        pool.close()
