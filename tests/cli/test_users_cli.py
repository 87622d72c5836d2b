"""`hotline users add … --site --partner` and `hotline users place`: where a user and their
phone work; a malformed site is a clear error, nothing is stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.db_fixture import db_sessions
from tickets.migrate import upgrade
from tickets.users import UserService


def _run(args: list[str], url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOTLINE_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "hotline_cli.main", "users", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_users_get_a_site_and_a_partner_and_can_be_moved(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    out = _run(["add", "cora", "--role", "agent", "--endpoint", "PJSIP/2001", "--site", "east",
                "--partner", "Callcenter Nord"], url, "secret-pass\n")
    assert out.returncode == 0 and "site east, Callcenter Nord" in out.stdout, out.stderr
    assert _run(["add", "dirk", "--role", "agent"], url, "secret-pass\n").returncode == 0
    bad = _run(["add", "eve", "--role", "agent", "--site", "East"], url, "secret-pass\n")
    assert bad.returncode == 1 and "lowercase letters, digits or '-'" in bad.stderr
    moved = _run(["place", "dirk", "--site", "west"], url)
    assert moved.returncode == 0 and "site west, in-house" in moved.stdout, moved.stderr
    assert _run(["place", "nobody", "--partner", "x"], url).returncode == 1
    assert _run(["place", "dirk"], url).returncode == 2
    with db_sessions(url) as sessions:
        users = {u.username: (u.site, u.partner) for u in UserService(sessions).all()}
    assert users == {"cora": ("east", "Callcenter Nord"), "dirk": ("west", "in-house")}


def test_an_endpoint_is_one_phone_per_site(tmp_path: Path) -> None:
    """`hotline up --sites 3` runs PJSIP/1001 at every site: one user each; twice at one
    site is a clear error naming the site and the user who has it."""
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    for name, site in (("anna", "main"), ("bert", "b")):
        out = _run(["add", name, "--role", "agent", "--endpoint", "PJSIP/1001", "--site", site], url, "secret-pass\n")
        assert out.returncode == 0 and f"phone PJSIP/1001, site {site}" in out.stdout, out.stderr
    twice = _run(["add", "cora", "--role", "agent", "--endpoint", "PJSIP/1001", "--site", "b"], url, "secret-pass\n")
    assert twice.returncode == 1
    assert "endpoint PJSIP/1001 exists already at site 'b' (user 'bert')" in twice.stderr
    moved = _run(["place", "bert", "--site", "main"], url)
    assert moved.returncode == 1 and "exists already at site 'main'" in moved.stderr
    with db_sessions(url) as sessions:
        users = {u.username: u.site for u in UserService(sessions).all()}
    assert users == {"anna": "main", "bert": "b"}
