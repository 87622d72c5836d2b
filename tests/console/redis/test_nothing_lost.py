"""Scale-out over real Redis: nothing is lost to an instance that came late or whose
link was down. A web-only instance started during an answered call knows its ticket
at once (the state reply carries the tickets of the calls in progress); a ticket edit
made while an instance's Redis link is down reaches the other instances once it is
back (an instance holds its own shared events, bounded, and sends them then), and an
edit that arrives after a newer one of the same ticket is not shown.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient

from agent_console.app import create_app
from agent_console.scaleout import codec
from agent_console.scaleout.peers import PeerShare
from agent_console.settings import Settings
from cti.bus import EventBus
from cti.testing import FakeAmiServer
from tests.console.redis.rig import (
    answer,
    behind_proxy,
    join,
    log_in,
    ring,
    services,
    synced,
    ticket_updates,
    until,
    wait_until,
)
from tickets.events import TicketUpdated


@pytest.mark.timeout(60)
def test_a_web_instance_started_during_an_answered_call_knows_its_ticket_at_once(
        app: Any, bridge: TestClient, side: BlockingPortal, fake: FakeAmiServer, settings: Settings) -> None:
    lid = "1700000200.11"
    join(side, fake, lid)
    ring(side, fake, lid, "PJSIP/1002")
    answer(side, fake, lid, "PJSIP/1002")
    book = services(bridge).notifier.book
    wait_until(lambda: book.ticket_for(lid) is not None, "the bridge instance's ticket for the call")
    ticket_id = book.ticket_for(lid)
    with TestClient(create_app(settings)) as late:  # started during the answered call
        synced(late)
        # from the state reply alone (its events reach the pop book through the notifier's
        # queue, a moment after the reply set `synced`: wait for it, do not race it)
        wait_until(lambda: services(late).notifier.book.ticket_for(lid) == ticket_id,
                   "the late instance to learn the call's ticket from the state reply")
        bert = log_in(late, "bert")
        with bert.ws() as wb:
            snap = wb.receive_json()
        assert snap["type"] == "snapshot"
        assert snap["data"]["current_call"]["linkedid"] == lid
        assert snap["data"]["current_call"]["ticket_id"] == ticket_id


@pytest.mark.timeout(90)
def test_a_ticket_edit_made_while_the_link_is_down_reaches_the_others_once_it_is_back(
        app: Any, bridge: TestClient, side: BlockingPortal, settings: Settings) -> None:
    with behind_proxy(side, settings) as (proxy, via_proxy):
        with TestClient(create_app(via_proxy)) as web:
            synced(web)
            on_web, on_bridge = log_in(web, "anna"), log_in(bridge, "sven")  # may see anna's ticket (issue 11 row 7)
            r = on_web.send("POST", "/api/tickets", json={"subject": "Drucker", "priority": "normal"})
            assert r.status_code == 201, r.text
            tid = r.json()["id"]
            with on_bridge.ws() as wb:
                assert wb.receive_json()["type"] == "snapshot"
                side.call(proxy.cut)  # Redis goes away for the web instance only
                wait_until(lambda: not services(web).bus_link.link.up, "the web instance to notice")
                r = on_web.send("PATCH", f"/api/tickets/{tid}", json={"subject": "Drucker im 3. OG"})
                assert r.status_code == 200, r.text
                edited = r.json()
                assert ticket_updates(bridge, wb, settle=0.3) == []  # not yet: the link is down
                proxy.blocked = False  # back: the held edit goes out
                wait_until(lambda: services(web).bus_link.link.up, "the web instance to reconnect")
                assert until(wb, "ticket.updated")["data"] == edited
                assert ticket_updates(bridge, wb) == []  # exactly once
            assert services(web).bus_link.peer_events_dropped == 0


def _ticket(updated: datetime, subject: str) -> TicketUpdated:
    return TicketUpdated(id=7, number="2026-000007", subject=subject, description="", status="open",
                         priority="normal", level=1, team="", assignee="", category="", channel="phone",
                         first_contact_resolution=False, contact_id=None, linkedid=None, due_at=None,
                         overdue=False, created_at=updated, updated_at=updated, version=1)


def test_an_edit_older_than_one_seen_is_not_published_again() -> None:
    async def go() -> None:
        bus, seen, sent = EventBus(), list[TicketUpdated](), list[codec.PeerEvent]()
        bus.subscribe(TicketUpdated, seen.append)
        share = PeerShare("me", "peers", lambda _channel, message: sent.append(message))
        share.subscribe(bus)
        t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
        newer = _ticket(t0 + timedelta(minutes=5), "newer, mine")
        await bus.publish(newer)  # an edit on this instance
        held = _ticket(t0, "older, held while the other's link was down")
        await share.receive(codec.PeerEvent("other", held))
        await share.receive(codec.PeerEvent("other", newer))  # the same edit again (a repeated publish)
        later = replace(newer, subject="later", updated_at=t0 + timedelta(minutes=9))
        await share.receive(codec.PeerEvent("other", later))
        assert [t.subject for t in seen] == ["newer, mine", "later"]
        assert [m.event.subject for m in sent] == ["newer, mine"] and share.stale == 2

    asyncio.run(go())
