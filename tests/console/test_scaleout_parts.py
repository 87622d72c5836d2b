"""The scale-out package's parts without Redis: PeerShare's echo suppression (one
instance's ticket edit goes out once and a peer's is never sent back) and the one
`health()` every bus link answers /healthz and /metrics with."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from agent_console.scaleout import codec
from agent_console.scaleout.health import BusHealth, LinkStatus
from agent_console.scaleout.link import Channels, Outbox, send_queued
from agent_console.scaleout.peers import PeerShare
from agent_console.scaleout.relay import BridgeRelay
from agent_console.scaleout.remote import RemoteBridge
from cti import events as ev
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.calls import CallRegistry
from tickets.events import TicketUpdated

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def edit(ticket_id: int) -> TicketUpdated:
    return TicketUpdated(id=ticket_id, number=f"2026-{ticket_id:06d}", subject="Drucker", description="",
                         status="open", priority="normal", level=1, team="L1", assignee="", category="",
                         channel="phone", first_contact_resolution=False, contact_id=None, linkedid=None,
                         due_at=None, overdue=False, created_at=AT, updated_at=AT, version=1)


async def test_peer_share_sends_its_own_edits_and_never_echoes_a_peers() -> None:
    bus = EventBus()
    sent: list[tuple[str, codec.PeerEvent]] = []
    seen: list[TicketUpdated] = []
    share = PeerShare("me", "hotline:hotline:peers", lambda channel, message: sent.append((channel, message)))
    share.subscribe(bus)
    bus.subscribe(TicketUpdated, seen.append)
    mine, theirs = edit(1), edit(2)
    await bus.publish(mine)  # an edit made through this instance's API
    assert sent == [("hotline:hotline:peers", codec.PeerEvent("me", mine))]
    await share.receive(codec.PeerEvent("other", theirs))  # another instance's edit
    assert seen == [mine, theirs] and share.received == 1
    assert len(sent) == 1  # delivered on our bus, not sent back out (it would echo for ever)
    await share.receive(codec.PeerEvent("me", mine))  # Redis hands us our own back
    await share.receive(codec.BridgeAnnouncement("other"))  # not a shared event
    assert seen == [mine, theirs] and share.received == 1
    await bus.publish(theirs)  # once delivered, the same object published here is ours to share
    assert sent[1:] == [("hotline:hotline:peers", codec.PeerEvent("me", theirs))]


async def test_peer_share_publishes_nothing_before_it_is_subscribed() -> None:
    sent: list[object] = []
    share = PeerShare("me", "p", lambda channel, message: sent.append(message))
    await share.receive(codec.PeerEvent("other", edit(3)))
    assert share.received == 0 and sent == []


# --- health(): one typed value from every link ----------------------------------------------

CHANNELS = Channels.of("hotline-test", "hotline")
URL = "redis://:secret@127.0.0.1:6379/0"


def relay() -> BridgeRelay:
    bus = EventBus()
    bridge = AmiBridge(host="127.0.0.1", port=1, username="u", secret="s", bus=bus, registry=CallRegistry())
    return BridgeRelay(URL, CHANNELS, bridge, lambda: AT)


async def test_a_bridge_relay_reports_another_bridge_instance_as_a_problem() -> None:
    link = relay()
    down = link.health()
    assert down.status is LinkStatus.DISCONNECTED and not down.up and down.problems == ()
    assert down.details["role"] == "bridge" and down.details["url"] == "redis://127.0.0.1:6379/0"
    link.link.up = True
    assert link.health().up and link.health().problems == () and link.health().duplicate_bridges == ()
    await link._on_peer(codec.BridgeAnnouncement(link.origin))  # its own announcement, echoed
    assert link.health().problems == ()
    await link._on_peer(codec.BridgeAnnouncement("b" * 32))
    health = link.health()
    assert health.up and health.duplicate_bridges == ("b" * 32,) and health.duplicate_detections == 1
    [problem] = health.problems
    assert "another bridge instance" in problem and "b" * 32 in problem and link.origin in problem
    assert health.details["duplicate_bridges"] == ["b" * 32]


async def test_a_bridge_of_another_site_is_listed_not_a_problem() -> None:
    link = relay()
    link.link.up = True
    await link._on_peer(codec.BridgeAnnouncement("e" * 32, "east"))
    health = link.health()
    assert health.problems == () and health.duplicate_bridges == () and link.duplicate_detections == 0
    assert health.details["sites"] == {"main": {"up": True, "bridges": [link.origin]},
                                       "east": {"up": True, "bridges": ["e" * 32]}}
    await link._on_peer(codec.BridgeAnnouncement("m" * 32, "main"))  # one of its own site: the old problem
    [problem] = link.health().problems
    assert "of site main" in problem and "m" * 32 in problem and link.duplicate_detections == 1
    link.duplicate_for = 0.0  # both fell silent: east is down, main is this bridge alone
    assert link.health().details["sites"] == {"main": {"up": True, "bridges": [link.origin]},
                                              "east": {"up": False, "bridges": []}}
    assert link.health().problems == ()


def test_channels_are_per_site_and_the_peers_channel_is_shared() -> None:
    main, east = Channels.of("p", "q"), Channels.of("p", "q", "east")
    assert (main.events, main.requests, main.reply("i")) == ("p:q:main:events", "p:q:main:requests",
                                                             "p:q:main:reply:i")
    assert (east.events, east.requests, east.reply("i")) == ("p:q:east:events", "p:q:east:requests",
                                                             "p:q:east:reply:i")
    assert main.peers == east.peers == "p:q:peers"


def test_a_web_remote_and_the_in_process_bus_have_no_problems_of_their_own() -> None:
    remote = RemoteBridge(URL, CHANNELS, EventBus(), lambda: AT)
    health = remote.health()
    assert health.status is LinkStatus.DISCONNECTED and health.problems == () and health.details["role"] == "web"
    remote.link.up = True
    assert remote.health().up and remote.health().details["status"] == "connected"
    local = BusHealth.in_process()
    assert local.up and local.problems == () and local.details == {"kind": "in-process", "status": "connected"}


class StubLink:
    """A bus link that is neither relay nor remote: the routes must take its word."""

    def __init__(self, health: BusHealth) -> None:
        self.answer = health

    def subscribe(self, bus: EventBus) -> None:
        pass

    def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def health(self) -> BusHealth:
        return self.answer


def test_healthz_and_metrics_take_any_links_own_health(app: Any, login: Any) -> None:
    sven = login("sven")
    details = {"kind": "stub", "status": "connected"}
    app.state.services.bus_link = StubLink(BusHealth(LinkStatus.CONNECTED, ("two bridges",), details, ("b2",), 3))
    r = sven.get("/healthz")
    assert r.status_code == 503 and r.json()["status"] == "degraded", r.text
    assert r.json()["problems"] == ["two bridges"] and r.json()["bus"] == details
    metrics = sven.get("/metrics").text
    assert "hotline_bus_connected 1.0" in metrics and "hotline_bridge_duplicates 1.0" in metrics
    assert "hotline_bridge_duplicate_detections_total 3.0" in metrics
    app.state.services.bus_link = StubLink(BusHealth(LinkStatus.DISCONNECTED, (), {"status": "disconnected"}))
    assert sven.get("/healthz").status_code == 503 and "hotline_bus_connected 0.0" in sven.get("/metrics").text
    app.state.services.bus_link = StubLink(BusHealth(LinkStatus.CONNECTED, (), details))
    r = sven.get("/healthz")
    assert r.status_code == 200 and r.json()["problems"] == [] and r.json()["status"] == "ok", r.text


async def test_the_relay_runs_no_listing_for_a_web_instance() -> None:
    """The transfer takes its channel from the registry: Redis is no way to list channels."""
    link = relay()
    reply = await link.execute(codec.ActionRequest("1", CHANNELS.reply("w"), "CoreShowChannels", ()))
    assert reply == codec.ActionReply("1", codec.ActionStatus.REFUSED, "CoreShowChannels is not relayed")


def test_a_routed_call_crosses_redis_with_its_route() -> None:
    from cti import events as ev

    snap = ev.CallSnapshot(
        linkedid="1.1", caller_raw="0341 1", caller_number="+493411", caller_name="W", queue="hotline",
        entered_at=datetime(2026, 12, 1, tzinfo=UTC), position=1, ringing_agents=("PJSIP/1002",),
        answered_at=None, agent=None, ended_at=None, outcome=None, wait_seconds=None, ring_seconds=None,
        talk_seconds=None, duration_seconds=None, transferred_to=None,
        route=ev.CallRoute(reason="team", team="Werke", language="de", priority=10))
    update = ev.CallUpdated(datetime(2026, 12, 1, tzinfo=UTC), ev.CallChange.RINGING, snap)
    message = codec.EventMessage("bridge", 7, update)
    assert codec.decode(codec.encode(message)) == message


def test_a_callbacks_pop_and_its_result_cross_redis() -> None:
    """A web-only instance's notifier pops the callback the bridge instance's dispatcher rang."""
    from cti import events as ev

    at = datetime(2026, 12, 1, tzinfo=UTC)
    for event in (ev.CallbackRinging(at, 42, "PJSIP/1001", "0341 1", "+493411", "<b>W</b>", 95.0, 7),
                  ev.CallbackRinging(at, 43, "PJSIP/1001", "", "+493411", "", None, None),
                  ev.CallbackDialed(at, 42, "NOANSWER")):
        assert isinstance(event, codec.RELAYED)
        message = codec.EventMessage("bridge", 8, event)
        assert codec.decode(codec.encode(message)) == message


# --- the outbox: batched, in order, and the announcements never behind it ----------------------

class StuckRedis:
    """A Redis client whose pipelines hang until `release` is set (a bridge whose events
    back up); plain publishes (the announcements) go through at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.published: list[tuple[str, str]] = []  # plain publishes
        self.piped: list[tuple[str, str]] = []  # pipelined ones, once executed
        self.announced = asyncio.Event()
        self.executing = asyncio.Event()
        self.ran = asyncio.Event()  # a pipeline was executed

    async def publish(self, channel: str, data: str) -> int:
        self.published.append((channel, data))
        self.announced.set()
        return 1

    def pipeline(self, transaction: bool = True) -> StuckPipe:
        return StuckPipe(self)


class StuckPipe:
    def __init__(self, redis: StuckRedis) -> None:
        self.redis, self.commands = redis, list[tuple[str, str]]()

    def __len__(self) -> int:
        return len(self.commands)

    def publish(self, channel: str, data: str) -> None:
        self.commands.append((channel, data))

    async def execute(self) -> list[int]:
        self.redis.executing.set()
        await self.redis.release.wait()
        self.redis.piped.extend(self.commands)
        self.redis.ran.set()
        return [1] * len(self.commands)


async def test_a_bridge_announces_itself_while_its_events_back_up() -> None:
    link, fake = relay(), StuckRedis()
    link.link.up, link.announce_every = True, 60.0
    tasks = [asyncio.create_task(link._publish(fake)), asyncio.create_task(link._announce(fake))]  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(fake.announced.wait(), 5)
        fake.announced.clear()
        for _ in range(12_000):  # more than the outbox holds, and Redis takes none of it
            link._on_event(ev.PbxConnected(at=AT, restarted=False))
        await asyncio.wait_for(fake.executing.wait(), 5)
        await link._on_peer(codec.BridgeAnnouncement("e" * 32, "east"))  # a new bridge: we answer at once
        await asyncio.wait_for(fake.announced.wait(), 5)  # not after the 12,000 events, nor after 60 s
        assert [codec.decode(d) for _, d in fake.published] == [codec.BridgeAnnouncement(link.origin)] * 2
        assert {c for c, _ in fake.published} == {CHANNELS.peers} and fake.piped == []
        assert link._outbox.dropped == 2_000  # bounded: the oldest went, counted
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_outbox_sends_in_batches_in_order_and_never_loses_what_it_did_not_send() -> None:
    outbox, fake = Outbox[str](300), StuckRedis()
    for n in range(300):
        outbox.put("c", f"m{n}")
    sender = asyncio.create_task(send_queued(fake, outbox.items, outbox.ready, str, batch=256))
    try:
        await asyncio.wait_for(fake.executing.wait(), 5)  # m0..m255 on their way
        for n in range(300, 310):  # full: m0..m9 leave the outbox while in flight
            outbox.put("c", f"m{n}")
        assert outbox.dropped == 10
        fake.release.set()
        while len(fake.piped) < 310:  # the second batch follows
            fake.ran.clear()
            await asyncio.wait_for(fake.ran.wait(), 5)
        assert not outbox.items
        assert [d for _, d in fake.piped] == [f"m{n}" for n in range(310)]  # in order, m256.. not lost
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)


async def test_a_bridge_announces_its_sites_live_figures_when_they_change_and_when_it_leaves() -> None:
    link, fake = relay(), StuckRedis()
    link.link.up, link.announce_every = True, 60.0
    figures = [codec.SiteLive(True, 0, None, 2, 3)]
    link.live = lambda: figures[-1]
    task = asyncio.create_task(link._announce(fake))  # type: ignore[arg-type]

    async def announced() -> codec.BridgeAnnouncement:
        await asyncio.wait_for(fake.announced.wait(), 5)
        fake.announced.clear()
        message = codec.decode(fake.published[-1][1])
        assert isinstance(message, codec.BridgeAnnouncement)
        return message

    try:
        assert (await announced()).live == figures[0]
        figures.append(codec.SiteLive(True, 1, AT, 1, 3))  # a caller joined: said within a second, not in 60 s
        assert (await announced()).live == figures[1]
        assert len(fake.published) == 2  # nothing changed since: nothing more said
        other = relay()  # another instance hears it: east's figures, from the announcement alone
        await other._on_peer(codec.decode(fake.published[-1][1]))
        assert other.bridges.live("main") == figures[1] and other.bridges.running("main", time.monotonic())
        await link.close()  # stopping: says so, its PBX down
        gone = await announced()
        assert gone.leaving and gone.live == codec.SiteLive(False, 1, AT, 1, 3)
        await other._on_peer(gone)
        assert other.bridges.running("main", time.monotonic()) == []
        assert other.bridges.sites(time.monotonic())["main"]["up"] is False
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
