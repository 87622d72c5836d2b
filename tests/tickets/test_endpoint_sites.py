"""An endpoint names a phone at its site's Asterisk: PJSIP/1001 may be at site `main`
and at site `b` (two phones), never twice at one site. The migration keeps every user
(SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.db_fixture import Sessions, db_sessions, unmigrated_database
from tests.factories import T0
from tickets.migrate import upgrade
from tickets.models import Role, User
from tickets.users import UserError, UserService


@pytest.fixture
def old_url(tmp_path: Path) -> Iterator[str]:
    with unmigrated_database(tmp_path, "hl_endpoints") as url:
        yield url


def _insert_user(s: Session, name: str, endpoint: str | None, site: str = "main") -> None:
    s.execute(text("INSERT INTO users (username, display_name, password_hash, role, endpoint, teams, language, "
                   "languages, active, created_at, site, partner) VALUES (:n, :d, 'x', 'agent', :e, 'schools', "
                   "'de', 'de', true, :t, :s, 'in-house')"),
              {"n": name, "d": name.title(), "e": endpoint, "t": T0, "s": site})


def test_the_migration_keeps_users_and_makes_endpoints_unique_per_site(old_url: str) -> None:
    upgrade(old_url, "0023")  # the last revision with one endpoint for all sites
    with db_sessions(old_url) as sessions, sessions.begin() as s:
        _insert_user(s, "anna", "PJSIP/1001")
        _insert_user(s, "bert", "PJSIP/1002", site="b")
        _insert_user(s, "sven", None)
    with db_sessions(old_url) as sessions:  # before: PJSIP/1001 once in the whole database
        with pytest.raises(IntegrityError), sessions.begin() as s:
            _insert_user(s, "cora", "PJSIP/1001", site="b")
    upgrade(old_url)
    with db_sessions(old_url) as sessions:
        with sessions() as s:
            kept = {u.username: (u.site, u.endpoint, u.display_name, u.teams) for u in s.scalars(select(User))}
        assert kept == {"anna": ("main", "PJSIP/1001", "Anna", "schools"),
                        "bert": ("b", "PJSIP/1002", "Bert", "schools"), "sven": ("main", None, "Sven", "schools")}
        with sessions.begin() as s:  # the same endpoint at another site: another phone
            _insert_user(s, "cora", "PJSIP/1001", site="b")
            _insert_user(s, "dirk", None)  # users without a phone are never in each other's way
        with pytest.raises(IntegrityError), sessions.begin() as s:  # but not twice at one site
            _insert_user(s, "emil", "PJSIP/1001", site="main")
        with sessions() as s:
            assert sorted(s.scalars(select(User.site).where(User.endpoint == "PJSIP/1001"))) == ["b", "main"]


def test_the_service_adds_an_endpoint_once_per_site(sessions: Sessions) -> None:
    users = UserService(sessions)
    users.add("anna", "longenough", Role.AGENT, "PJSIP/1001")
    cora = users.add("cora", "longenough", Role.AGENT, "PJSIP/1001", site="b")
    assert (cora.site, cora.endpoint) == ("b", "PJSIP/1001")
    with pytest.raises(UserError, match=r"endpoint PJSIP/1001 exists already at site 'b' \(user 'cora'\)"):
        users.add("dora", "longenough", Role.AGENT, "PJSIP/1001", site="b")
    with pytest.raises(UserError, match="user 'anna' exists already"):
        users.add("anna", "longenough", Role.AGENT, "PJSIP/1009", site="c")
    assert (users.by_endpoint("PJSIP/1001", "b"), users.by_endpoint("PJSIP/1001")) == (
        cora, users.by_endpoint("PJSIP/1001", "main"))
    assert users.by_endpoint("PJSIP/1001", "main") is not None and users.by_endpoint("PJSIP/1001", "c") is None
    assert [u.username for u in users.with_endpoints("b")] == ["cora"]
    assert [u.username for u in users.with_endpoints()] == ["anna", "cora"]


def test_moving_a_user_to_a_site_where_their_endpoint_is_taken_is_refused(sessions: Sessions) -> None:
    users = UserService(sessions)
    users.add("anna", "longenough", Role.AGENT, "PJSIP/1001")
    users.add("cora", "longenough", Role.AGENT, "PJSIP/1001", site="b")
    with pytest.raises(UserError, match="exists already at site 'main'"):
        users.place("cora", site="main")
    assert users.place("cora", site="c").site == "c"
    assert users.place("anna", partner="Callcenter Nord").partner == "Callcenter Nord"
