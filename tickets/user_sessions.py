"""Server-side login sessions: start, find, touch, end, list.

Layer: service (sync, run off the event loop). Must not import agent_console.
A row holds a keyed hash of the cookie's random token, never the token, so a
copy of the database cannot be replayed as cookies. Ending a session deletes
its row; a password change deletes all of a user's (tickets.users). Times come
from the caller (`now`), so expiry is tested without waiting.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tickets.models import User, UserSession
from tickets.users import UserView, user_view

CHUNK = 500  # values in one IN (...): far below every database's limit


@dataclass(frozen=True, slots=True)
class SessionLimits:
    idle: timedelta  # ends after this long without a request (or an open console)
    lifetime: timedelta  # ends this long after the login, whatever happens
    per_user: int  # the oldest of a user's sessions ends beyond this many


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    user_id: int
    csrf: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str
    address: str

    def idle_until(self, idle: timedelta) -> datetime:
        return min(self.expires_at, self.last_seen_at + idle)

    def alive(self, now: datetime, idle: timedelta) -> bool:
        return now < self.idle_until(idle)


def _record(row: UserSession) -> SessionRecord:
    return SessionRecord(row.id, row.user_id, row.csrf, row.created_at, row.last_seen_at,
                         row.expires_at, row.user_agent, row.address)


class SessionStore:
    def __init__(self, sessions: sessionmaker[Session], limits: SessionLimits) -> None:
        self.sessions, self.limits = sessions, limits

    def start(self, user_id: int, token_hash: str, csrf: str, now: datetime,
              user_agent: str = "", address: str = "") -> tuple[SessionRecord, list[int]]:
        """A new session, and the ids of the user's sessions it ended (over the cap)."""
        row = UserSession(token_hash=token_hash, user_id=user_id, csrf=csrf, created_at=now,
                          last_seen_at=now, expires_at=now + self.limits.lifetime,
                          user_agent=user_agent[:200], address=address[:64])
        with self.sessions.begin() as session:
            self._purge(session, now)  # dead rows of anyone: cheap on the indexed expiry
            session.add(row)
            session.flush()
            newest_first = select(UserSession.id).where(UserSession.user_id == user_id).order_by(
                UserSession.created_at.desc(), UserSession.id.desc())
            ended = list(session.scalars(newest_first.offset(max(1, self.limits.per_user))))
            if ended:
                session.execute(delete(UserSession).where(UserSession.id.in_(ended)))
            return _record(row), ended

    def _purge(self, session: Session, now: datetime) -> None:
        session.execute(delete(UserSession).where(or_(
            UserSession.expires_at <= now, UserSession.last_seen_at <= now - self.limits.idle)))

    def find(self, token_hash: str) -> tuple[SessionRecord, UserView] | None:
        """The session and its (active) user; expiry is the caller's to judge."""
        return self.find_many([token_hash]).get(token_hash)

    def find_many(self, token_hashes: Collection[str]) -> dict[str, tuple[SessionRecord, UserView]]:
        """`find` of several tokens in one statement per CHUNK (every open console's
        session, checked in one round): token hash -> found; a hash not found is left out."""
        out: dict[str, tuple[SessionRecord, UserView]] = {}
        wanted = list(dict.fromkeys(token_hashes))
        with self.sessions() as session:
            for start in range(0, len(wanted), CHUNK):
                rows = session.execute(select(UserSession, User).join(User, User.id == UserSession.user_id)
                                       .where(UserSession.token_hash.in_(wanted[start:start + CHUNK]), User.active))
                for row, user in rows:
                    out[row.token_hash] = (_record(row), user_view(user))
        return out

    def touch(self, session_id: int, now: datetime) -> None:
        self.touch_many([session_id], now)

    def touch_many(self, session_ids: Collection[int], now: datetime) -> None:
        """Record activity on these sessions (an open console is activity)."""
        ids = sorted(set(session_ids))
        if not ids:
            return
        with self.sessions.begin() as session:
            for start in range(0, len(ids), CHUNK):
                session.execute(update(UserSession).where(UserSession.id.in_(ids[start:start + CHUNK]))
                                .values(last_seen_at=now))

    def end(self, session_id: int, user_id: int | None = None) -> bool:
        """End one session (only the user's own when `user_id` is given)."""
        query = delete(UserSession).where(UserSession.id == session_id)
        if user_id is not None:
            query = query.where(UserSession.user_id == user_id)
        with self.sessions.begin() as session:
            return bool(session.execute(query).rowcount)  # type: ignore[attr-defined]

    def end_all(self, user_id: int) -> list[int]:
        with self.sessions.begin() as session:
            ids = list(session.scalars(select(UserSession.id).where(UserSession.user_id == user_id)))
            session.execute(delete(UserSession).where(UserSession.user_id == user_id))
            return ids

    def list_for(self, user_id: int, now: datetime) -> list[SessionRecord]:
        """The user's live sessions, newest first."""
        with self.sessions() as session:
            rows = session.scalars(select(UserSession).where(UserSession.user_id == user_id)
                                   .order_by(UserSession.created_at.desc(), UserSession.id.desc()))
            records = [_record(r) for r in rows]
        return [r for r in records if r.alive(now, self.limits.idle)]
