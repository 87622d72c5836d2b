"""RemoteBridge: a web-only instance's way to the PBX, through the bridge instance.

Layer: I/O shell (the web side of scale-out; the bridge side is scaleout.relay).
It subscribes to the events channel and its own reply channel, publishes the
decoded events on this instance's bus (so the notifier, the live queue and the
hub work exactly as on the bridge instance) and keeps a LiveMirror of the
registry for snapshots and transfers. On every (re)connect, on a new bridge
instance and on a gap in the events' `seq` it asks for the state again. Agent
actions are forwarded once, never repeated: no answer within the timeout is a
503 that says the action may still have run. SHARED events (ticket edits) go
both ways on the peers channel: this instance's own out to every other instance,
the others' onto this instance's bus (never its own back: it had them first),
through scaleout.peers as on the bridge instance. It follows the bridge of its own
site (HOTLINE_SITE: that site's events and requests channels) and lists every
site's bridge it hears announce itself on the peers channel, up or down, on /healthz.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agent_console.scaleout import codec
from agent_console.scaleout.health import BusHealth
from agent_console.scaleout.link import Channels, Outbox, RedisLink, cancelled, incoming, run_together, spawn, stop
from agent_console.scaleout.peers import PeerShare
from agent_console.scaleout.port import LiveMirror, PbxUnavailable
from agent_console.scaleout.sites import ALIVE_FOR, SiteBridges
from cti import events as ev
from cti.actions import ActionResult
from cti.bus import EventBus
from cti.connection import AmiError
from tickets.sites import DEFAULT_SITE

log = logging.getLogger(__name__)
STATE_RETRY = 2.0  # seconds between state requests until the bridge instance answers
PEER_OUTBOX_LIMIT = 1_000


class RemoteBridge:
    def __init__(self, url: str, channels: Channels, bus: EventBus, clock: Callable[[], datetime],
                 action_timeout: float = 8.0, site: str = DEFAULT_SITE) -> None:
        self.channels, self.bus, self.clock, self.action_timeout = channels, bus, clock, action_timeout
        self.site = site  # the site whose bridge this instance follows
        self.bridges = SiteBridges[codec.SiteLive](ALIVE_FOR)
        self.link = RedisLink(url, "web", clock)
        self.instance = uuid.uuid4().hex
        self.reply_channel = channels.reply(self.instance)
        self.mirror = LiveMirror()
        self.origin: str | None = None  # the bridge instance whose events we follow
        self.last_seq = 0
        self._synced = asyncio.Event()  # a state reply arrived since the last (re)connect or gap
        self.pbx_up = False
        self.resyncs = 0
        self._client: aioredis.Redis | None = None
        self._pending: dict[str, asyncio.Future[codec.ActionReply]] = {}
        self._want_state = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        # our shared events wait for the link also while it is down (an edit made then
        # reaches the other instances once it is back), bounded
        self._peer_out = Outbox[codec.PeerEvent](PEER_OUTBOX_LIMIT)
        self.peers = PeerShare(self.instance, channels.peers, self._peer_out.put)

    def subscribe(self, bus: EventBus) -> None:
        """This instance's own SHARED events go to the peers channel, the others' onto `bus`."""
        self.peers.subscribe(bus)

    @property
    def peer_events_in(self) -> int:
        return self.peers.received

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    # --- PbxPort ------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.link.up and self.synced and self.pbx_up

    @property
    def registry(self) -> LiveMirror:
        return self.mirror

    async def send(self, name: str, fields: dict[str, str]) -> ActionResult:
        reply = await self._request(name, fields)
        return ActionResult(message=reply.message)

    # --- lifecycle ------------------------------------------------------------------
    @property
    def link_up(self) -> bool:
        return self.link.up

    def health(self) -> BusHealth:
        """The link; a bridge instance not answering yet shows as `synced: false` and
        `pbx_connected: false` (the PBX's own 503 on /healthz), not as a bus problem."""
        details = {**self.link.state(), "instance": self.instance, "synced": self.synced, "site": self.site,
                   "bridge_instance": self.origin, "pbx_connected": self.pbx_up,
                   "sites": self.bridges.sites(time.monotonic()),
                   "peer_events_received": self.peer_events_in, "peer_events_dropped": self.peer_events_dropped}
        return BusHealth(self.link.status, (), details)

    def start(self) -> None:
        spawn(self.link.run(self._session), "redis-remote", self.tasks)

    async def close(self) -> None:
        await stop(self.tasks)

    # --- actions -----------------------------------------------------------------------
    async def _request(self, name: str, fields: dict[str, str]) -> codec.ActionReply:
        client = self._client
        if client is None or not self.link.up:
            raise PbxUnavailable(f"the bus to the bridge instance (Redis) is down; {name} was not sent")
        request = codec.ActionRequest(uuid.uuid4().hex, self.reply_channel, name, tuple(fields.items()))
        future: asyncio.Future[codec.ActionReply] = asyncio.get_running_loop().create_future()
        self._pending[request.id] = future
        try:
            try:  # published once; a failure here is never followed by a second try
                receivers = await client.publish(self.channels.requests, codec.encode(request))
            except (RedisError, OSError) as exc:
                raise PbxUnavailable(f"Redis failed while sending {name} ({exc}); not repeated") from exc
            if receivers == 0:
                raise PbxUnavailable(f"no bridge instance listens on {self.channels.requests}; {name} was not sent")
            try:
                reply = await asyncio.wait_for(future, self.action_timeout)
            except TimeoutError as exc:
                raise PbxUnavailable(f"the bridge instance did not answer {name} within {self.action_timeout:g} s;"
                                     " it may still have been carried out and was not repeated") from exc
        finally:
            self._pending.pop(request.id, None)
        if reply.status == codec.ActionStatus.UNAVAILABLE:
            raise PbxUnavailable(reply.message)
        if reply.status == codec.ActionStatus.REFUSED:
            raise AmiError(reply.message)
        return reply

    # --- the session: events and replies in, state requests out ---------------------------
    async def _session(self, client: aioredis.Redis) -> None:
        self._client = client
        self._resync()
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(self.channels.events, self.reply_channel, self.channels.peers)
                await run_together(self._listen(pubsub), self._ask_state(client), self._publish_peers(client),
                                   names=("redis-remote-events", "redis-remote-state", "redis-remote-peers"))
        finally:
            self._client = None
            self._synced.clear()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(PbxUnavailable("the link to Redis broke before the bridge instance "
                                                        "answered; the action may have run and was not repeated"))

    async def _ask_state(self, client: aioredis.Redis) -> None:
        while not cancelled():
            await self._want_state.wait()
            if not self.synced:
                receivers = await client.publish(self.channels.requests,
                                                 codec.encode(codec.StateRequest(self.reply_channel)))
                if receivers == 0:
                    log.warning("no bridge instance listens on %s yet; asking again", self.channels.requests)
            self._want_state.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._synced.wait(), STATE_RETRY)
            if not self.synced:
                self._want_state.set()
        raise asyncio.CancelledError

    async def _listen(self, pubsub: Any) -> None:
        async for channel, message in incoming(pubsub, codec.decode):
            if isinstance(message, codec.BridgeAnnouncement):
                self.bridges.announced(message.origin, message.site, time.monotonic(), message.live, message.leaving)
            elif channel == self.channels.peers:
                await self.peers.receive(message)
            else:
                await self.receive(message)
        raise asyncio.CancelledError

    # --- shared events: ours out, the other instances' in -------------------------------------
    @property
    def peer_events_dropped(self) -> int:
        return self._peer_out.dropped

    async def _publish_peers(self, client: aioredis.Redis) -> None:
        await self._peer_out.send(client, codec.encode)
        raise asyncio.CancelledError

    async def receive(self, message: codec.Message) -> None:
        if isinstance(message, codec.EventMessage):
            await self._on_event(message)
        elif isinstance(message, codec.StateReply):
            await self._on_state(message)
        elif isinstance(message, codec.ActionReply):
            future = self._pending.get(message.id)
            if future is not None and not future.done():
                future.set_result(message)

    async def _on_event(self, m: codec.EventMessage) -> None:
        if m.site != self.site:
            log.warning("an event of site %s on site %s's channel; ignored", m.site, self.site)
            return
        if m.origin != self.origin:
            if self.origin is not None:
                log.warning("a new bridge instance (%s) publishes events; asking it for the state", m.origin[:8])
            self.origin, self.last_seq = m.origin, m.seq - 1
            self._resync()
        if m.seq <= self.last_seq:
            return  # a repeat after the bridge re-published on a new connection
        if m.seq > self.last_seq + 1:
            log.warning("missed %d event(s) from the bridge instance; asking for the state", m.seq - self.last_seq - 1)
            self._resync()
        self.last_seq = m.seq
        await self._deliver(m.event)

    def _resync(self) -> None:
        self._synced.clear()
        self._want_state.set()

    async def _on_state(self, m: codec.StateReply) -> None:
        if m.site != self.site:
            log.warning("a state reply of site %s on site %s's channel; ignored", m.site, self.site)
            return
        now = self.clock()
        self.origin, self.last_seq, self.pbx_up = m.origin, m.seq, m.pbx_connected
        for update in self.mirror.gone(m.events, now):
            await self._deliver(update)
        for event in m.events:
            await self._deliver(event)
        self._synced.set()
        self.resyncs += 1
        log.info("redis web: live state from bridge instance %s: %d call(s), %d agent(s)", m.origin[:8],
                 sum(isinstance(e, ev.CallUpdated) for e in m.events),
                 sum(isinstance(e, ev.AgentUpdated) for e in m.events))

    async def _deliver(self, event: object) -> None:
        self.mirror.apply(event)
        if isinstance(event, ev.PbxConnected):
            self.pbx_up = True
        elif isinstance(event, ev.PbxDisconnected):
            self.pbx_up = False
        await self.bus.publish(event)
