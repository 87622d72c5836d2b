"""Scale-out over real Redis: a channel prefix of the test's own, the fake AMI server on
an event loop of the test's own, and the bridge instance beside the console conftest's
`app`/`client` (the web-only instance)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi.testclient import TestClient
from pydantic import SecretStr

from agent_console.app import create_app
from agent_console.settings import Settings
from cti.testing import FakeAmiServer
from tests.console.redis.rig import AMI_SECRET, REDIS_URL, services, wait_until


@pytest.fixture()
def prefix() -> str:
    """A channel prefix of this test's own; Redis must answer (fail, never skip)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}); `./hotline.sh test` starts one, "
                    "or set HOTLINE_TEST_REDIS_URL")
    return f"hotline-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def settings(database_url: str, prefix: str) -> Settings:
    """conftest's `app` and `client` are the web-only instance."""
    return Settings(database_url=database_url, session_secret="x" * 32, ami_enabled=False, writer_process=False,
                    login_rate_limit_per_minute=100, redis_url=REDIS_URL, redis_prefix=prefix,
                    redis_action_timeout=2.0, dial_allow="10XX,2XXX,0X.")  # what the tests dial and transfer to


@pytest.fixture()
def side() -> Iterator[BlockingPortal]:
    """An event loop of the test's own for the fake AMI server and the TCP proxy."""
    with start_blocking_portal() as portal:
        yield portal


@pytest.fixture()
def fake(side: BlockingPortal) -> Iterator[FakeAmiServer]:
    server = side.call(FakeAmiServer(secret=AMI_SECRET, variables={"HOTLINE_WRAPUP_SECONDS": "7"}).start)
    yield server
    side.call(server.stop)


@pytest.fixture()
def bridge(app: Any, settings: Settings, fake: FakeAmiServer) -> Iterator[TestClient]:
    """The instance that owns the AMI bridge (after `app`, which made the users)."""
    own = settings.model_copy(update={"ami_enabled": True, "ami_port": fake.port,
                                      "ami_secret": SecretStr(AMI_SECRET)})
    with TestClient(create_app(own)) as c:
        wait_until(lambda: services(c).pbx.bridge.resyncs >= 1, "the bridge's first resync")
        yield c
