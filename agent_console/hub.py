"""WebSocket hub: numbered messages fanned out to per-client bounded queues.

Layer: I/O shell (no FastAPI import; the route in ws.py owns the socket).
Every message gets a hub-wide `seq`. Each message names who may see it
(an audience: every client, supervisors only, or a set of agent endpoints), so
`call.ringing` reaches only the agents whose phone rings. The last messages are
kept in a ring buffer: a reconnecting browser that sends its last `seq` gets
what it missed (its own audience only) or, when that is too old, a fresh snapshot.
A client whose queue is full is dropped, never awaited: one slow browser must
not delay a screen pop for everyone else. A client whose sender is idle with
nothing queued may take the message straight onto its socket (Client.direct). Clients are indexed by endpoint and
role, so a pop for one agent costs the same with 10 or 1,000 browsers connected.
An endpoint here is a phone at this instance's site: a client is that endpoint only when
its user's phone is at this site (ws.py sets Client.endpoint by site_phone.local_endpoint;
another site's PJSIP/1001 is another agent's phone), so audiences stay plain endpoints.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

log = logging.getLogger(__name__)

CLIENT_QUEUE = 256
BUFFER = 2048
EVERYONE = "*"
SUPERVISORS = "supervisors"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may receive a message: everyone, supervisors, and/or these endpoints,
    usernames or members of these teams (a ticket's parties: tickets.visibility)."""

    everyone: bool = False
    supervisors: bool = False
    endpoints: frozenset[str] = frozenset()
    usernames: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()

    def admits(self, client: Client) -> bool:
        return (self.everyone or (self.supervisors and client.supervisor)
                or (client.endpoint is not None and client.endpoint in self.endpoints)
                or client.username in self.usernames or not self.teams.isdisjoint(client.teams))


ALL = Audience(everyone=True)
SUPERVISORS_ONLY = Audience(supervisors=True)


def agents(*endpoints: str, supervisors: bool = False) -> Audience:
    return Audience(supervisors=supervisors, endpoints=frozenset(endpoints))


def encode(wire: dict[str, Any]) -> str:
    """JSON text as Starlette's send_json makes it (compact, UTF-8 kept), by orjson: the
    same text about ten times as fast as the standard library's encoder (a pop with its
    open tickets and recent calls: 12 -> 1 us, once per ringing agent). int keys become
    strings as json.dumps makes them; what orjson refuses (a lone surrogate, an int
    beyond 64 bits) goes the standard library's way, as before."""
    try:
        return orjson.dumps(wire, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(wire, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    type: str
    data: dict[str, Any]
    audience: Audience
    created: float  # perf_counter when published, for latency figures
    # the wire text, encoded once at publish for every client of its audience (and for
    # replays): a broadcast to 1,000 browsers costs one json.dumps, not 1,000
    text: str = field(default="", compare=False)
    # made for each client from `data` (a pop shows an agent only the tickets they may
    # open); None: every client gets the same text
    tailor: Callable[[Client, dict[str, Any]], dict[str, Any]] | None = field(default=None, compare=False)

    def wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "data": self.data}

    def for_client(self, client: Client) -> Message:
        """This message as `client` gets it (the same seq; its own data when tailored)."""
        if self.tailor is None:
            return self
        data = self.tailor(client, self.data)
        return Message(self.seq, self.type, data, self.audience, self.created,
                       encode({"seq": self.seq, "type": self.type, "data": data}))


class Outbox:
    """One client's bounded queue of messages (None: the close marker), cheaper than an
    asyncio.Queue on the broadcast path: an offer appends and, only when the sender
    waits, wakes it; the sender awaits one future per burst, never a task per message."""

    __slots__ = ("_items", "_maxsize", "_waiter")

    def __init__(self, maxsize: int = CLIENT_QUEUE) -> None:
        self._items: deque[Message | None] = deque()
        self._maxsize = maxsize
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Message | None) -> None:
        if len(self._items) >= self._maxsize:
            raise asyncio.QueueFull
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def get_nowait(self) -> Message | None:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Message | None:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._items.popleft()


@dataclass(eq=False)
class Client:
    user_id: int
    username: str
    endpoint: str | None  # the user's phone at this instance's site; None: none here
    supervisor: bool
    teams: frozenset[str] = frozenset()
    queue: Outbox = field(default_factory=Outbox)
    dropped: bool = False
    sent: int = 0  # messages written to its socket (the heartbeat's "was it quiet?")
    # writes a message straight to the socket, or refuses (False): set by ws.py once the
    # snapshot is out; used only while the sender holds nothing and nothing is queued,
    # so the order per socket stays (agent_console/ws_direct.py)
    direct: Callable[[Message], bool] | None = None
    busy: bool = False  # the sender is writing a message it took from the queue


class Hub:
    def __init__(self, buffer: int = BUFFER) -> None:
        self._seq = itertools.count(1)
        self._clients: set[Client] = set()
        self._supervisors: set[Client] = set()
        self._by_endpoint: dict[str, set[Client]] = {}
        self._buffer: deque[Message] = deque(maxlen=buffer)
        self._latest: dict[str, Message] = {}  # publish(replaces=key): the newest message of each key
        self.last_seq = 0
        self.sent = 0
        self.sent_direct = 0  # of `sent`: written straight onto an idle socket
        self.dropped_clients = 0

    @property
    def clients(self) -> int:
        return len(self._clients)

    def next_seq(self) -> int:
        self.last_seq = next(self._seq)
        return self.last_seq

    def publish(self, type_: str, data: dict[str, Any], audience: Audience = ALL,
                tailor: Callable[[Client, dict[str, Any]], dict[str, Any]] | None = None,
                replaces: str | None = None) -> Message:
        """`replaces`: a key for messages that each wholly replace the one before with the
        same key (a queue's `queue.updated`): the replay buffer keeps only the newest, since a
        client resuming after the older one gets the newer one anyway (a queue view carries
        every agent: 2,048 superseded ones held thousands of agent dicts, bench_load --census)."""
        seq = self.next_seq()
        msg = Message(seq, type_, data, audience, time.perf_counter(),
                      "" if tailor else encode({"seq": seq, "type": type_, "data": data}), tailor)
        if replaces is not None:
            self._forget(self._latest.pop(replaces, None))
            self._latest[replaces] = msg
        self._buffer.append(msg)
        for client in self._audience(audience):
            self._offer(client, msg.for_client(client))
        return msg

    def _forget(self, old: Message | None) -> None:
        """Take a superseded message out of the replay buffer (searched from the newest end,
        where it usually is; gone already when the buffer's bound pushed it out)."""
        if old is None or not self._buffer or old.seq < self._buffer[0].seq:
            return
        for i in range(len(self._buffer) - 1, -1, -1):
            if self._buffer[i] is old:
                del self._buffer[i]
                return

    def _audience(self, audience: Audience) -> list[Client]:
        if audience.everyone:
            return list(self._clients)
        chosen = set(self._supervisors) if audience.supervisors else set()
        for endpoint in audience.endpoints:
            chosen.update(self._by_endpoint.get(endpoint, ()))
        if audience.usernames or audience.teams:  # ticket messages: rarer than pops, a scan is fine
            chosen.update(c for c in self._clients if c.username in audience.usernames
                          or not audience.teams.isdisjoint(c.teams))
        return list(chosen)

    def _offer(self, client: Client, msg: Message) -> None:
        if client.direct is not None and not client.busy and client.queue.empty() and client.direct(msg):
            client.sent += 1
            self.sent += 1
            self.sent_direct += 1
            return
        try:
            client.queue.put_nowait(msg)
            self.sent += 1
        except asyncio.QueueFull:
            log.warning("WebSocket client %s too slow (%d queued); dropped", client.username,
                        client.queue.qsize())
            self.drop(client)

    def drop(self, client: Client) -> None:
        if client in self._clients:
            self.detach(client)
            client.dropped = True
            self.dropped_clients += 1
            while not client.queue.empty():  # make room for the close marker
                client.queue.get_nowait()
            client.queue.put_nowait(None)

    def attach(self, client: Client, since: int | None) -> list[Message] | None:
        """Register the client. Returns the missed messages to replay, or None when
        the client needs a fresh snapshot (first connect, or `since` too old)."""
        self._clients.add(client)
        if client.supervisor:
            self._supervisors.add(client)
        if client.endpoint is not None:
            self._by_endpoint.setdefault(client.endpoint, set()).add(client)
        if since is None or since > self.last_seq:
            return None
        oldest = self._buffer[0].seq if self._buffer else self.last_seq + 1
        if since < oldest - 1:
            return None
        return [m.for_client(client) for m in self._buffer if m.seq > since and m.audience.admits(client)]

    def detach(self, client: Client) -> None:
        self._clients.discard(client)
        self._supervisors.discard(client)
        if client.endpoint is not None:
            same = self._by_endpoint.get(client.endpoint)
            if same is not None:
                same.discard(client)
                if not same:
                    del self._by_endpoint[client.endpoint]
