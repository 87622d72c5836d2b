"""Two sites on one Redis (real Redis, two fake AMI servers): a bridge instance of another
site is no duplicate; both bridges and the web-only instance list every site's bridge on
/healthz (a stopped one as down); the same Linkedid at both sites makes two call records
and two tickets; the web-only instance follows its own site's bridge only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from agent_console.app import create_app
from agent_console.settings import Settings
from cti.testing import FakeAmiServer
from tests.console.redis.rig import AMI_SECRET, answer, hang_up, join, log_in, ring, services, synced, wait_until
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
