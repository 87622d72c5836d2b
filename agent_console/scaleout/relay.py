"""BridgeRelay: the instance that owns the AMI bridge shares it over Redis.

Layer: I/O shell (the bridge side of scale-out; web-only instances use
scaleout.remote). It
- relays the bus events web instances consume (codec.RELAYED) to the
  events channel, numbered by `seq` so a subscriber notices a gap;
- answers state requests with its registry's calls and agents, and the tickets
  of the calls in progress (so an instance that starts during an answered call
  knows its ticket at once), through the same ordered outbox as the events, so
  a reply sits exactly at its `seq`;
- runs AMI actions web instances forward, each at most once (a repeated request
  id is ignored; an Originate is never sent twice), and answers on the
  requester's reply channel;
- shares this instance's own SHARED events (ticket edits) with every other
  instance on the peers channel, and publishes theirs on this instance's bus
  (never its own back: it had them first), through scaleout.peers;
- announces itself and its site on the peers channel (straight to Redis, not
  behind queued events), and reports another bridge
  instance of the same site announcing itself there (same prefix, queue and site:
  both would run every forwarded action) as an error on the log, /metrics and
  /healthz. Bridges of other sites are normal (one per site, each on its own
  events and requests channels) and are listed per site on /healthz. It elects nobody.
While Redis is down events are dropped, not queued: web instances ask for the
state again when they reconnect or see the gap. This instance's own shared
events (ticket edits) are the exception: kept (bounded) and sent once the link
is back, as nothing else would bring them to the other instances' consoles.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

import redis.asyncio as aioredis

from agent_console.scaleout import codec
from agent_console.scaleout.health import BusHealth
from agent_console.scaleout.link import Channels, Outbox, RedisLink, cancelled, incoming, run_together, spawn, stop
from agent_console.scaleout.peers import PeerShare
from agent_console.scaleout.sites import ALIVE_FOR, ANNOUNCE_EVERY, LIVE_EVERY, SiteBridges
from cti import events as ev
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.connection import AmiError, ConnectionLost
from tickets.events import TicketCreated
from tickets.sites import DEFAULT_SITE

log = logging.getLogger(__name__)
# Only what the console's routes build with cti.actions: Redis must not become a way
# to run any AMI command (nor listings: the transfer takes its channel from the registry).
ACTIONS = frozenset({"QueuePause", "QueueAdd", "QueueRemove", "Originate", "BlindTransfer", "Hangup"})
OUTBOX_LIMIT = 10_000
LEAVE_WITHIN = 1.0  # seconds a stopping bridge tries to say so
DUPLICATE_FOR = ALIVE_FOR  # another bridge instance counts as running this long after its last one
_SAFE = re.compile(r"[^\r\n\0]*")  # fullmatch: a "$" would let a trailing newline through


class BridgeRelay:
    def __init__(self, url: str, channels: Channels, bridge: AmiBridge, clock: Callable[[], datetime],
                 site: str = DEFAULT_SITE) -> None:
        self.channels, self.bridge, self.clock, self.site = channels, bridge, clock, site
        self.link = RedisLink(url, "bridge", clock)
        self.origin = uuid.uuid4().hex
        self.seq = 0
        self.dropped = 0
        self._outbox = Outbox[codec.Message](OUTBOX_LIMIT)
        self._seen: OrderedDict[str, None] = OrderedDict()  # action request ids already run
        self.tasks: set[asyncio.Task[None]] = set()
        self.peers = PeerShare(self.origin, channels.peers, self._send_live)
        # every site's bridge instances heard on the peers channel, with their sites' live figures
        self.bridges = SiteBridges[codec.SiteLive](DUPLICATE_FOR)
        self.announce_every = ANNOUNCE_EVERY
        self._announce_now = asyncio.Event()
        # this site's live queue figures, for the other instances' sites board (the
        # composition root sets it; None: announcements carry none)
        self.live: Callable[[], codec.SiteLive] | None = None
        self._client: aioredis.Redis | None = None
        self._tickets: dict[str, TicketCreated] = {}  # linkedid -> its ticket, for the calls in progress
        self.duplicate_detections = 0

    @property
    def duplicate_for(self) -> float:
        """How long another bridge instance counts as running after its last announcement."""
        return self.bridges.alive_for

    @duplicate_for.setter
    def duplicate_for(self, seconds: float) -> None:
        self.bridges.alive_for = seconds

    # --- wiring -------------------------------------------------------------------
    def subscribe(self, bus: EventBus) -> None:
        for kind in codec.RELAYED:
            bus.subscribe(kind, self._on_event)
        self.peers.subscribe(bus)

    @property
    def peer_events_in(self) -> int:
        return self.peers.received

    @property
    def link_up(self) -> bool:
        return self.link.up

    def health(self) -> BusHealth:
        """The link, and another bridge instance of our site as a problem (503); every
        site's bridges heard lately (this one's own included) as `sites`."""
        others = self.duplicates()
        sites = self.bridges.sites(time.monotonic())
        sites[self.site] = {"up": True, "bridges": sorted({self.origin, *others})}
        details = {**self.link.state(), "instance": self.origin, "site": self.site, "events_relayed": self.seq,
                   "events_dropped": self.dropped + self._outbox.dropped, "peer_events_received": self.peer_events_in,
                   "duplicate_bridges": others, "sites": sites}
        problems = (self._duplicate_problem(others),) if others else ()
        return BusHealth(self.link.status, problems, details, tuple(others), self.duplicate_detections)

    def duplicates(self) -> list[str]:
        """The other bridge instances of this site heard on the peers channel lately."""
        return self.bridges.running(self.site, time.monotonic(), but=self.origin)

    def _duplicate_problem(self, others: list[str]) -> str:
        return (f"another bridge instance ({', '.join(others)}) of site {self.site} runs on the same Redis channels "
                f"({self.channels.requests.rpartition(':')[0]}) as this one ({self.origin}): both run every "
                "forwarded agent action; keep one with HOTLINE_AMI_ENABLED=true per site, prefix and queue")

    def start(self) -> None:
        spawn(self.link.run(self._session), "redis-relay", self.tasks)

    async def close(self) -> None:
        await self._leave()
        await stop(self.tasks)

    async def _leave(self) -> None:
        """Tell the other instances this bridge stops (its site shows down at once); best effort."""
        client = self._client
        if client is None or not self.link.up:
            return
        live = self.live() if self.live else None
        gone = codec.BridgeAnnouncement(self.origin, self.site,
                                        dataclasses.replace(live, pbx_connected=False) if live else None, True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.publish(self.channels.peers, codec.encode(gone)), LEAVE_WITHIN)

    # --- out: events and replies, in order -----------------------------------------
    def _on_event(self, event: object) -> None:
        """A bus handler: only numbers and enqueues, never waits."""
        if isinstance(event, TicketCreated):
            self._tickets[event.linkedid] = event
        elif isinstance(event, ev.CallUpdated) and event.change == ev.CallChange.ENDED:
            self._tickets.pop(event.call.linkedid, None)
        self.seq += 1
        self._send_live(self.channels.events, codec.EventMessage(self.origin, self.seq, event, self.site))

    def _send_live(self, channel: str, message: codec.EventMessage | codec.PeerEvent) -> None:
        """Events while Redis is down are dropped, not queued; our shared ones wait for it."""
        if not self.link.up and not isinstance(message, codec.PeerEvent):
            self.dropped += 1
            return
        self._send(channel, message)

    def _send(self, channel: str, message: codec.Message) -> None:
        self._outbox.put(channel, message)

    async def _publish(self, client: aioredis.Redis) -> None:
        # events queued before this connection are stale: subscribers resync by state; our
        # shared ones (ticket edits) are not: no state brings them, so they go out now
        self.dropped += self._outbox.discard(lambda m: isinstance(m, codec.EventMessage))
        await self._outbox.send(client, codec.encode)
        raise asyncio.CancelledError

    # --- in: requests from web instances ---------------------------------------------
    async def _session(self, client: aioredis.Redis) -> None:
        await run_together(self._publish(client), self._listen(client), self._announce(client),
                           names=("redis-relay-publish", "redis-relay-requests", "redis-relay-announce"))

    async def _announce(self, client: aioredis.Redis) -> None:
        """Say we are alive every `announce_every` s, at once when a new bridge is heard,
        and within LIVE_EVERY s when this site's live figures changed, straight to Redis:
        never behind the events queued in the outbox, so a bridge busy with a flood of
        calls is not shown as silent while it works."""
        self._client = client
        last: codec.SiteLive | None = None
        sent = float("-inf")
        try:
            while not cancelled():
                forced = self._announce_now.is_set()
                self._announce_now.clear()
                live, now = self.live() if self.live else None, time.monotonic()
                if forced or live != last or now - sent >= self.announce_every:
                    await client.publish(self.channels.peers,
                                         codec.encode(codec.BridgeAnnouncement(self.origin, self.site, live)))
                    last, sent = live, now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._announce_now.wait(),
                                           min(LIVE_EVERY, self.announce_every) if self.live else self.announce_every)
        finally:
            self._client = None
        raise asyncio.CancelledError

    async def _listen(self, client: aioredis.Redis) -> None:
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(self.channels.requests, self.channels.peers)
            async for channel, message in incoming(pubsub, codec.decode):
                if channel == self.channels.peers:
                    await self._on_peer(message)
                else:
                    self._on_request(message)
        raise asyncio.CancelledError

    async def _on_peer(self, message: codec.Message) -> None:
        if isinstance(message, codec.BridgeAnnouncement) and message.origin != self.origin:
            self._heard_bridge(message)
        else:
            await self.peers.receive(message)

    def _heard_bridge(self, message: codec.BridgeAnnouncement) -> None:
        other, site = message.origin, message.site
        if not self.bridges.announced(other, site, time.monotonic(), message.live, message.leaving):
            return
        self._announce_now.set()  # it learns of us at once
        if site != self.site:
            log.info("the bridge instance %s of site %s runs on %s", other, site, self.channels.peers)
            return
        self.duplicate_detections += 1
        log.error("another bridge instance %s of site %s announces itself on %s; this bridge instance is %s. Both "
                  "run every agent action web instances forward: run exactly one bridge instance per site",
                  other, site, self.channels.peers, self.origin)

    def _on_request(self, request: codec.Message) -> None:
        if isinstance(request, codec.StateRequest) and request.reply_to.startswith(self.channels.reply_prefix):
            self._send(request.reply_to, self.state_reply())
        elif isinstance(request, codec.ActionRequest) and request.reply_to.startswith(self.channels.reply_prefix):
            if request.id in self._seen:
                log.warning("action request %s seen before; not run again", request.id)
                return
            self._seen[request.id] = None
            while len(self._seen) > 10_000:
                self._seen.popitem(last=False)
            spawn(self._run_action(request), f"redis-action-{request.name}-{request.id[:8]}", self.tasks)
        else:
            log.warning("ignoring %s on %s", type(request).__name__, self.channels.requests)

    def state_reply(self) -> codec.StateReply:
        """The registry now, as of the last numbered event, with the tickets of the calls
        in progress (pure: no I/O)."""
        now, registry = self.clock(), self.bridge.registry
        calls = [ev.CallUpdated(at=now, change=ev.CallChange.RESYNCED, call=c)
                 for c in registry.calls() if c.ended_at is None]
        tickets = [self._tickets[u.call.linkedid] for u in calls if u.call.linkedid in self._tickets]
        agents = [ev.AgentUpdated(at=now, agent=a) for a in registry.agent_list()]
        queue = self.bridge.queue
        wrapup = ev.QueueWrapUpTime(at=now, queue=queue, seconds=registry.agents.wrapup_seconds(queue))
        return codec.StateReply(self.origin, self.seq, self.bridge.connected, (*calls, *tickets, *agents, wrapup),
                                self.site)

    async def _run_action(self, request: codec.ActionRequest) -> None:
        reply = await self.execute(request)
        self._send(request.reply_to, reply)

    async def execute(self, r: codec.ActionRequest) -> codec.ActionReply:
        """Run one forwarded action; AMI errors become a REFUSED reply (502 on the
        web instance, as on this one), no AMI link an UNAVAILABLE one (503)."""
        fields = dict(r.fields)
        if r.name not in ACTIONS or not all(_SAFE.fullmatch(k + v) for k, v in fields.items()):
            return codec.ActionReply(r.id, codec.ActionStatus.REFUSED, f"{r.name} is not relayed")
        if not self.bridge.connected:
            return codec.ActionReply(r.id, codec.ActionStatus.UNAVAILABLE,
                                     "the PBX is not connected; try again in a moment")
        try:
            result = await self.bridge.send(r.name, fields)
        except (AmiError, ConnectionLost, TimeoutError, ValueError) as exc:
            return codec.ActionReply(r.id, codec.ActionStatus.REFUSED, str(exc) or type(exc).__name__)
        return codec.ActionReply(r.id, codec.ActionStatus.OK, result.message)
