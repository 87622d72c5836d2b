"""Sessions as the edge sees them: cookie token in, the logged-in user out.

Layer: edge (sync: called from plain `def` dependencies on the thread pool, or
through asyncio.to_thread). Must not import FastAPI routes.

The cookie carries only a random 256-bit token; the database (tickets.user_sessions)
keeps an HMAC of it under HOTLINE_SESSION_SECRET. Logging out, revoking a
session, a password change or the per-user cap delete rows, and sessions end
after an idle timeout and an absolute lifetime, so an old cookie is worthless.

Reading a session on every request stays cheap: a found session is cached here
for `cache_seconds` (HOTLINE_SESSION_CACHE_SECONDS, 5). Ending a session on this
instance drops it from this cache at once; scaled out, another instance may
still accept it until its cached copy is `cache_seconds` old. `last_seen_at` is
written at most every `touch_every`, not on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from agent_console.settings import Settings
from tickets.models import Role
from tickets.user_sessions import SessionLimits, SessionRecord, SessionStore
from tickets.users import UserView

CACHE_ENTRIES = 10_000
MAX_TOKEN = 128  # ours are 43 characters; anything much longer is not one of ours


@dataclass(frozen=True, slots=True)
class SessionUser:
    user: UserView
    csrf: str
    session_id: int = 0

    @property
    def supervisor(self) -> bool:
        return self.user.role in (Role.SUPERVISOR, Role.ADMIN)


@dataclass(slots=True)
class _Cached:
    record: SessionRecord
    user: UserView
    fetched: datetime


class CacheMiss:
    """`peek` found nothing fresh in the cache: ask `read` (which may hit the database)."""


MISS: Final = CacheMiss()


class Sessions:
    def __init__(self, store: SessionStore, secret: str, clock: Callable[[], datetime],
                 cache_seconds: float = 5.0) -> None:
        self.store, self.clock = store, clock
        self._key = hashlib.sha256(b"hotline-session-token:" + secret.encode()).digest()
        self._ttl = timedelta(seconds=cache_seconds)
        self._touch_every = min(timedelta(seconds=60), store.limits.idle / 4)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._lock = threading.Lock()
        self.sockets: Counter[int] = Counter()  # open WebSockets per session id (event loop only)

    @classmethod
    def from_settings(cls, s: Settings, db: sessionmaker[Session], clock: Callable[[], datetime]) -> Sessions:
        limits = SessionLimits(idle=timedelta(minutes=s.session_idle_minutes),
                               lifetime=timedelta(hours=s.session_lifetime_hours), per_user=s.sessions_per_user)
        secret = s.session_secret.get_secret_value() if s.session_secret else ""
        return cls(SessionStore(db, limits), secret, clock, s.session_cache_seconds)

    @property
    def lifetime_seconds(self) -> int:
        return int(self.store.limits.lifetime.total_seconds())

    def _hash(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def issue(self, user: UserView, user_agent: str = "", address: str = "") -> tuple[str, SessionUser]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        record, ended = self.store.start(user.id, self._hash(token), csrf, self.clock(), user_agent, address)
        self._forget(lambda e: e.record.id in ended)
        return token, SessionUser(user, csrf, record.id)

    def read(self, token: str | None) -> SessionUser | None:
        """The session's user, or None (no such session, ended, idle too long, expired)."""
        if not token:
            return None
        return self.read_many([token])[token]

    def read_many(self, tokens: Collection[str]) -> dict[str, SessionUser | None]:
        """`read` of several tokens: what the cache lacks in one statement, the activity
        in one more (the WebSocket watcher checks every open console's session at once)."""
        now = self.clock()
        keys = {token: self._hash(token) for token in tokens if token and len(token) <= MAX_TOKEN}
        with self._lock:
            entries = {key: entry for key in keys.values() if (entry := self._fresh(key, now)) is not None}
        missing = [key for key in keys.values() if key not in entries]
        if missing:
            for key, (record, user) in self.store.find_many(missing).items():
                entries[key] = _Cached(record, user, now)
            with self._lock:
                for key in missing:
                    if key in entries:
                        self._cache[key] = entries[key]
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        out: dict[str, SessionUser | None] = dict.fromkeys(tokens)
        touched: dict[int, _Cached] = {}
        for token, key in keys.items():
            entry = entries.get(key)
            if entry is None:
                continue
            record = entry.record
            if not record.alive(now, self.store.limits.idle):
                self.end(record.id)
                continue
            if now - record.last_seen_at >= self._touch_every:
                touched[record.id] = entry
            out[token] = SessionUser(entry.user, record.csrf, record.id)
        if touched:
            self.store.touch_many(touched, now)
            for entry in touched.values():
                entry.record = replace(entry.record, last_seen_at=now)
        return out

    def peek(self, token: str) -> SessionUser | CacheMiss | None:
        """From the cache only (no I/O, safe on the event loop): the user, None when
        it is known to be over, or MISS when only `read` can tell."""
        if len(token) > MAX_TOKEN:
            return None
        key, now = self._hash(token), self.clock()
        with self._lock:
            entry = self._fresh(key, now)
        if entry is None:
            return MISS
        if not entry.record.alive(now, self.store.limits.idle):
            return None
        if now - entry.record.last_seen_at >= self._touch_every:
            return MISS  # let `read` record the activity
        return SessionUser(entry.user, entry.record.csrf, entry.record.id)

    def _fresh(self, key: str, now: datetime) -> _Cached | None:
        entry = self._cache.get(key)
        if entry is not None and now - entry.fetched >= self._ttl:
            del self._cache[key]
            return None
        return entry

    def _forget(self, which: Callable[[_Cached], bool]) -> None:
        with self._lock:
            for key in [k for k, e in self._cache.items() if which(e)]:
                del self._cache[key]

    def end(self, session_id: int, user_id: int | None = None) -> bool:
        """End one session (only `user_id`'s own when given); at once on this instance."""
        ended = self.store.end(session_id, user_id)
        self._forget(lambda e: e.record.id == session_id)
        return ended

    def end_all(self, user_id: int) -> None:
        self.store.end_all(user_id)
        self._forget(lambda e: e.record.user_id == user_id)

    def forget_user(self, user_id: int) -> None:
        """Rows already gone (a password change deletes them in its own transaction)."""
        self._forget(lambda e: e.record.user_id == user_id)

    def list_for(self, user_id: int) -> list[SessionRecord]:
        return self.store.list_for(user_id, self.clock())
