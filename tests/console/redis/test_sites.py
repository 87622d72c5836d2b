"""Two sites on one Redis (real Redis, two fake AMI servers): a bridge instance of another
site is no duplicate; both bridges and the web-only instance list every site's bridge on
/healthz (a stopped one as down); the same Linkedid at both sites makes two call records
and two tickets; the web-only instance follows its own site's bridge only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from agent_console.app import create_app
from agent_console.scaleout.link import Channels
from agent_console.settings import Settings
from cti.testing import FakeAmiServer
from tests.console.redis.rig import (
    AMI_SECRET,
    REDIS_URL,
    answer,
    hang_up,
    join,
    log_in,
    ring,
    services,
    synced,
    wait_until,
)
from tests.db_fixture import db_sessions
from tests.factories import new_linkedid
from tickets.models import CallRecord, Ticket


@pytest.fixture()
def east_fake(side: BlockingPortal) -> Iterator[FakeAmiServer]:
    server = side.call(FakeAmiServer(secret=AMI_SECRET, variables={"HOTLINE_WRAPUP_SECONDS": "7"}).start)
    yield server
    side.call(server.stop)


def _sites(c: TestClient) -> dict[str, dict[str, object]]:
    r = log_in(c, "sven").get("/healthz")
    assert r.status_code == 200 and r.json()["problems"] == [], r.text
    return r.json()["bus"]["sites"]  # type: ignore[no-any-return]


def _at_sites(url: str, model: type[CallRecord] | type[Ticket], linkedid: str) -> list[str]:
    with db_sessions(url) as sessions, sessions() as s:
        return sorted(s.scalars(select(model.site).where(model.linkedid == linkedid)))


def _answered(side: BlockingPortal, fake: FakeAmiServer, linkedid: str, agent: str) -> None:
    join(side, fake, linkedid)
    ring(side, fake, linkedid, agent)
    answer(side, fake, linkedid, agent)


class _Unknown:  # a call not (yet) known: no agent
    agent = None


@pytest.mark.timeout(120)
def test_a_bridge_of_another_site_is_no_duplicate_and_every_site_is_listed(
        client: TestClient, bridge: TestClient, fake: FakeAmiServer, east_fake: FakeAmiServer,
        side: BlockingPortal, settings: Settings) -> None:
    synced(client)
    main_id = services(bridge).bus_link.origin
    east_settings = settings.model_copy(update={"ami_enabled": True, "ami_port": east_fake.port,
                                                "ami_secret": SecretStr(AMI_SECRET), "site": "east"})
    lid = new_linkedid()
    with TestClient(create_app(east_settings)) as east:
        wait_until(lambda: services(east).pbx.bridge.resyncs >= 1, "the east bridge's resync")
        east_id = services(east).bus_link.origin
        for c in (bridge, client, east):
            wait_until(lambda c=c: set(_sites(c)) == {"main", "east"}, "every instance to hear both sites")
        assert services(bridge).bus_link.duplicates() == [] and services(east).bus_link.duplicates() == []
        assert services(bridge).bus_link.duplicate_detections == services(east).bus_link.duplicate_detections == 0
        for c in (bridge, client, east):
            assert _sites(c) == {"main": {"up": True, "bridges": [main_id]},
                                 "east": {"up": True, "bridges": [east_id]}}
        # the same Linkedid text from both Asterisks: two calls, two tickets
        _answered(side, east_fake, lid, "PJSIP/1002")
        wait_until(lambda: (services(east).pbx.registry.call(lid) or _Unknown).agent == "PJSIP/1002", "east's call")
        _answered(side, fake, lid, "PJSIP/1001")
        # the web-only instance follows main's bridge: its mirror has main's call, never east's
        wait_until(lambda: (services(client).pbx.registry.call(lid) or _Unknown).agent == "PJSIP/1001", "main's call")
        hang_up(side, east_fake, lid)
        hang_up(side, fake, lid)
        url = settings.database_url
        wait_until(lambda: _at_sites(url, CallRecord, lid) == ["east", "main"], "a call record at each site")
        wait_until(lambda: _at_sites(url, Ticket, lid) == ["east", "main"], "a ticket at each site")
    services(client).bus_link.bridges.alive_for = 0.5  # east said nothing since it stopped
    wait_until(lambda: _sites(client)["east"] == {"up": False, "bridges": []}, "east shown as down")
    assert services(client).bus_link.site == "main" and services(bridge).bus_link.site == "main"


def _board(c: TestClient) -> dict[str, Any]:
    r = log_in(c, "sven").get("/api/sites")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _site(board: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in board["sites"] if r["site"] == name)


def _waiting(board: dict[str, Any]) -> dict[str, int]:
    return {"*": board["total"]["waiting_count"], **{r["site"]: r["waiting_count"] for r in board["sites"]}}


@pytest.mark.timeout(120)
def test_every_instance_shows_every_sites_queue_their_sum_and_a_silent_site_as_down(
        client: TestClient, bridge: TestClient, fake: FakeAmiServer, east_fake: FakeAmiServer,
        side: BlockingPortal, settings: Settings) -> None:
    """The web-only instance (site main) and main's bridge follow east too: callers waiting
    at each site, the total their sum; east's answered call in today's figures from the
    database; east's bridge stopped: east DOWN in both, its last numbers stale and out of
    the live total (named missing), main unaffected. Agents never get the board."""
    synced(client)
    east_settings = settings.model_copy(update={"ami_enabled": True, "ami_port": east_fake.port,
                                                "ami_secret": SecretStr(AMI_SECRET), "site": "east"})
    main_1, main_2, east_1, east_done = new_linkedid(), new_linkedid(), new_linkedid(), new_linkedid()
    with TestClient(create_app(east_settings)) as east:
        wait_until(lambda: services(east).pbx.bridge.resyncs >= 1, "the east bridge's resync")
        join(side, fake, main_1)
        join(side, fake, main_2, "030 9018 20")
        join(side, east_fake, east_1)
        _answered(side, east_fake, east_done, "PJSIP/1002")
        hang_up(side, east_fake, east_done)
        for c in (client, bridge, east):  # every instance, web or bridge, has the same picture
            wait_until(lambda c=c: _waiting(_board(c)) == {"*": 3, "main": 2, "east": 1}, "both sites' callers",
                       timeout=20)
            wait_until(lambda c=c: _site(_board(c), "east")["today"]["answered"] == 1, "east's call from the db",
                       timeout=20)
            board = _board(c)
            assert [(r["site"], r["state"], r["stale"]) for r in board["sites"]] == [
                ("east", "up", False), ("main", "up", False)]
            assert board["total"]["missing"] == [] and board["total"]["today"]["answered"] == 1
            assert _site(board, "main")["today"]["offered"] == 0  # main's figures are main's alone
        # east's figures come announced by east's bridge: no other instance reads east's event stream
        east_events = Channels.of(settings.redis_prefix, settings.queue_name, "east").events
        [(_, listeners)] = redis.Redis.from_url(REDIS_URL).pubsub_numsub(east_events)
        assert listeners == 0
        assert services(bridge).wallboard.views()[0]["waiting_count"] == 2  # main's own wallboard: main's only
        assert services(east).wallboard.views()[0]["today"]["answered"] == 1
        agent = log_in(client, "anna")
        assert agent.get("/api/sites").status_code == 403
        with agent.ws() as ws:
            assert "sites" not in ws.receive_json()["data"]
    for c in (client, bridge):  # east's bridge stopped and said so: down at once, not after 15 s of silence
        wait_until(lambda c=c: _site(_board(c), "east")["reason"] == "bridge_silent", "east shown as down",
                   timeout=10)
        board = _board(c)
        east_row = _site(board, "east")
        assert (east_row["state"], east_row["stale"], east_row["waiting_count"]) == ("down", True, 1)
        assert east_row["stale_since"] is not None
        assert _site(board, "main")["state"] == "up"
        assert board["total"]["missing"] == ["east"] and board["total"]["waiting_count"] == 2
        assert board["total"]["today"]["answered"] == 1  # the database still has east's call
    with log_in(client, "sven").ws() as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot" and _site(snapshot["data"]["sites"], "east")["state"] == "down"
