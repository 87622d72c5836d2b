"""Users: agents, supervisors, admins; argon2id password hashes.

Layer: service (sync, run off the event loop). Must not import agent_console.
A wrong password and an unknown user take the same time and give the same
answer (None), so the login form does not reveal which usernames exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tickets.models import Role, User, UserSession
from tickets.sites import DEFAULT_PARTNER, DEFAULT_SITE, SiteError, valid_partner, valid_site

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash of a random string: verifying against it costs what a real check costs.
    Made once per process when the first UserService is built (before any login), not
    at import: every `hotline` command imports this module, and hashing takes a while."""
    return _hasher.hash("hotline-no-such-user")


USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ENDPOINT = re.compile(r"^PJSIP/[A-Za-z0-9_-]{1,40}$")
MIN_PASSWORD = 8


class UserError(ValueError):
    """A user could not be created; the message says why."""


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    username: str
    display_name: str
    role: Role
    endpoint: str | None
    teams: tuple[str, ...]
    language: str  # the pages' language
    languages: tuple[str, ...] = ("de",)  # spoken with callers (routing)
    site: str = DEFAULT_SITE  # where the user and their phone work (tickets.sites)
    partner: str = DEFAULT_PARTNER  # who staffs them: in-house or an external call centre

    @property
    def extension(self) -> str | None:
        return self.endpoint.split("/", 1)[1] if self.endpoint else None


def _view(user: User) -> UserView:
    teams = tuple(t for t in user.teams.split(",") if t)
    languages = tuple(x for x in (user.languages or "").split(",") if x)
    return UserView(user.id, user.username, user.display_name or user.username, user.role,
                    user.endpoint, teams, user.language, languages, user.site, user.partner)


def user_view(user: User) -> UserView:
    """What the rest of the app sees of a user row (the session store joins users)."""
    return _view(user)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def validate_new_user(username: str, password: str, endpoint: str | None) -> None:
    if not USERNAME.fullmatch(username):
        raise UserError("username: 1-64 letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    if endpoint is not None and not ENDPOINT.fullmatch(endpoint):
        raise UserError("endpoint: like PJSIP/1001")


def _placement(site: str, partner: str) -> tuple[str, str]:
    try:
        return valid_site(site), valid_partner(partner)
    except SiteError as exc:
        raise UserError(str(exc)) from exc


def _refuse_taken(session: Session, username: str | None, endpoint: str | None, site: str) -> None:
    """UserError naming what is taken: the username (anywhere), or the endpoint at `site`
    (an endpoint names a phone at its site's Asterisk; another site may have the same)."""
    if username is not None and session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} exists already")
    if endpoint is not None:
        holder = session.scalar(select(User.username).where(User.site == site, User.endpoint == endpoint))
        if holder is not None:
            raise UserError(f"endpoint {endpoint} exists already at site {site!r} (user {holder!r})")


class UserService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        _dummy_hash()  # now, so the first unknown user's check takes no longer than a known one's

    def add(self, username: str, password: str, role: Role, endpoint: str | None = None,
            display_name: str = "", teams: tuple[str, ...] = (), language: str = "de",
            site: str = DEFAULT_SITE, partner: str = DEFAULT_PARTNER) -> UserView:
        validate_new_user(username, password, endpoint)
        site, partner = _placement(site, partner)
        user = User(username=username, password_hash=hash_password(password), role=role,
                    endpoint=endpoint, display_name=display_name, teams=",".join(teams),
                    language=language, site=site, partner=partner)
        try:
            with self.sessions.begin() as session:
                _refuse_taken(session, username, endpoint, site)
                session.add(user)
                session.flush()
                return _view(user)
        except IntegrityError as exc:  # added by someone else between the check and the insert
            raise UserError(f"user {username!r} or endpoint {endpoint!r} at site {site!r} exists already") from exc

    def place(self, username: str, site: str | None = None, partner: str | None = None) -> UserView:
        """Move a user (and their phone endpoint) to another site and/or partner; refused
        when another user has that endpoint at the new site."""
        try:
            with self.sessions.begin() as session:
                user = session.scalar(select(User).where(User.username == username))
                if user is None:
                    raise UserError(f"no user {username!r}")
                site, partner = _placement(site or user.site, partner or user.partner)
                if site != user.site:
                    _refuse_taken(session, None, user.endpoint, site)
                user.site, user.partner = site, partner
                session.flush()
                return _view(user)
        except IntegrityError as exc:
            raise UserError(f"endpoint of {username!r} exists already at site {site!r}") from exc

    def authenticate(self, username: str, password: str) -> UserView | None:
        with self.sessions() as session:
            user = session.scalar(select(User).where(User.username == username, User.active))
            stored = user.password_hash if user else _dummy_hash()
            try:
                _hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            return _view(user) if user else None

    def set_password(self, user_id: int, password: str) -> None:
        """A new password ends every session of the user, in the same transaction:
        whoever knew the old one is logged out everywhere."""
        if len(password) < MIN_PASSWORD:
            raise UserError(f"password: at least {MIN_PASSWORD} characters")
        hashed = hash_password(password)
        with self.sessions.begin() as session:
            done = session.execute(update(User).where(User.id == user_id).values(password_hash=hashed))
            if not done.rowcount:  # type: ignore[attr-defined]
                raise UserError(f"no user {user_id}")
            session.execute(delete(UserSession).where(UserSession.user_id == user_id))

    def get(self, user_id: int) -> UserView | None:
        with self.sessions() as session:
            user = session.get(User, user_id)
            return _view(user) if user and user.active else None

    def by_endpoint(self, endpoint: str, site: str = DEFAULT_SITE) -> UserView | None:
        """The active user whose phone is `endpoint` at `site` (an endpoint alone is one per site)."""
        with self.sessions() as session:
            user = session.scalar(select(User).where(User.site == site, User.endpoint == endpoint, User.active))
            return _view(user) if user else None

    def all(self) -> list[UserView]:
        with self.sessions() as session:
            return [_view(u) for u in session.scalars(select(User).order_by(User.username))]

    def with_endpoints(self, site: str | None = None) -> list[UserView]:
        """Active users with a phone endpoint (the agents a call can go to), by username;
        with `site`, only those whose phone is at that site (its Asterisk)."""
        query = select(User).where(User.endpoint.is_not(None), User.active).order_by(User.username)
        if site is not None:
            query = query.where(User.site == site)
        with self.sessions() as session:
            return [_view(u) for u in session.scalars(query)]

    def count(self) -> int:
        with self.sessions() as session:
            return len(session.scalars(select(User.id)).all())
