from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from tests.db_fixture import Sessions
from tickets.models import Role, User
from tickets.users import UserError, UserService


@pytest.fixture()
def users(sessions: Sessions) -> UserService:
    return UserService(sessions)  # `sessions` starts on empty tables


def test_password_is_stored_as_argon2_and_checked(users: UserService) -> None:
    added = users.add("anna", "correct horse", Role.AGENT, "PJSIP/1001", teams=("schools",))
    with users.sessions() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "anna"))
    assert stored is not None and stored.startswith("$argon2id$") and "correct horse" not in stored
    me = users.authenticate("anna", "correct horse")
    assert me == added and me.extension == "1001" and me.teams == ("schools",)
    assert users.authenticate("anna", "wrong password") is None
    assert users.authenticate("nobody", "correct horse") is None


@pytest.mark.parametrize(("name", "password", "endpoint", "complaint"), [
    ("bad name", "longenough", None, "username"),
    ("x\r\ny", "longenough", None, "username"),
    ("ok", "short", None, "password"),
    ("ok", "longenough", "SIP/1001\r\nAction: Originate", "endpoint"),
])
def test_bad_users_are_refused_with_the_reason(users: UserService, name: str, password: str,
                                              endpoint: str | None, complaint: str) -> None:
    with pytest.raises(UserError, match=complaint):
        users.add(name, password, Role.AGENT, endpoint)
    assert users.count() == 0


def test_duplicate_username_or_endpoint_is_refused(users: UserService) -> None:
    users.add("anna", "longenough", Role.AGENT, "PJSIP/1001")
    with pytest.raises(UserError, match="exists already"):
        users.add("anna", "longenough", Role.SUPERVISOR)
    with pytest.raises(UserError, match="endpoint PJSIP/1001 exists already at site 'main'"):
        users.add("bert", "longenough", Role.AGENT, "PJSIP/1001")
    assert [u.username for u in users.all()] == ["anna"]


def test_cli_users_add_reads_the_password_from_stdin(users: UserService, database_url: str) -> None:
    env = dict(os.environ, HOTLINE_DATABASE_URL=database_url)
    cmd = [sys.executable, "-m", "hotline_cli.main", "users", "add", "sven", "--role", "supervisor"]
    out = subprocess.run(cmd, input="s3cret-password\n", env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "sven (supervisor) added" in out.stdout
    assert users.authenticate("sven", "s3cret-password") is not None
    again = subprocess.run(cmd, input="s3cret-password\n", env=env, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 1 and "exists already" in again.stderr
