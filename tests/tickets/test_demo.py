"""Demo data: only into an empty database; its users log in and its numbers are found."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.db_fixture import Sessions, wipe
from tickets.customers import CustomerService
from tickets.demo import DEMO_USERS, seed_demo
from tickets.kb import KnowledgeBase
from tickets.kb_links import KbLinks
from tickets.lookup import CustomerLookup, MatchStatus
from tickets.models import Role
from tickets.users import UserService

ROOT = Path(__file__).resolve().parents[2]


def _passwords() -> dict[str, str]:
    return {user: f"pw-{user}-0123456789" for user, _, _, _ in DEMO_USERS}


def test_seed_creates_users_that_log_in_and_customers_that_are_found(sessions: Sessions) -> None:
    assert seed_demo(sessions, _passwords()) is True
    users = UserService(sessions)
    for user, role, endpoint, language in DEMO_USERS:
        me = users.authenticate(user, f"pw-{user}-0123456789")
        assert me is not None and me.role is role and me.endpoint == endpoint and me.language == language
        assert users.authenticate(user, "wrong password") is None
    assert [u.username for u in users.all() if u.role is Role.AGENT] == ["anna", "bert", "carla"]
    lookup = CustomerLookup(sessions)
    erika = lookup.lookup("0341 2538-5555")
    assert erika.status is MatchStatus.KNOWN and erika.number == "+4934125385555"
    assert erika.candidates[0].name == "Erika Mustermann" and erika.candidates[0].reason == "direct"
    # the main number is stored as the base number (+493412538, as the brief gives it), so the
    # switchboard's own "-0" is found through the number block, the base number as main
    assert lookup.lookup("0341 2538").candidates[0].reason == "main"
    assert lookup.lookup("0341 2538-0").candidates[0].reason == "block"
    block = lookup.lookup("0341 2538-9999")
    assert block.status is MatchStatus.KNOWN and block.candidates[0].name == "Stadtwerke Leipzig"
    john = CustomerService(sessions).search("+44 1632 960123")
    assert [c["name"] for c in john] == ["John Smith"] and john[0]["language"] == "en"
    assert CustomerService(sessions).count() >= 20


def test_seed_adds_articles_in_both_languages_and_printer_history(sessions: Sessions) -> None:
    assert seed_demo(sessions, _passwords()) is True
    kb = KnowledgeBase(sessions, lambda: datetime.now(UTC))
    assert {a["language"] for a in kb.articles()} == {"de", "en"} and len(kb.articles()) >= 8
    assert kb.search("Passwort zurücksetzen")[0]["title"] == "Passwort zurücksetzen"
    assert kb.search("reset password")[0]["title"] == "Reset a password"
    erika = CustomerService(sessions).search("Erika Mustermann")[0]
    pop = KbLinks(sessions, kb, lambda: datetime.now(UTC)).suggest(contact_id=erika["id"])
    assert pop["categories"] == ["Drucker"] and pop["articles"][0]["title"] == "Drucker druckt nicht"
    assert pop["articles"][0]["solved_count"] == 2


def test_second_seed_and_a_non_empty_database_are_left_alone(sessions: Sessions) -> None:
    assert seed_demo(sessions, _passwords()) is True
    assert seed_demo(sessions, _passwords()) is False
    wipe(sessions)
    UserService(sessions).add("someone", "longenough", Role.ADMIN)
    assert seed_demo(sessions, _passwords()) is False
    assert CustomerService(sessions).count() == 0


def test_missing_or_short_password_writes_nothing(sessions: Sessions) -> None:
    with pytest.raises(ValueError, match="admin"):
        seed_demo(sessions, {k: v for k, v in _passwords().items() if k != "admin"})
    with pytest.raises(ValueError, match="password"):
        seed_demo(sessions, {**_passwords(), "sven": "short"})
    assert CustomerService(sessions).count() == 0 and UserService(sessions).count() == 0


def test_cli_demo_seed_prints_logins_then_leaves_the_database_alone(
        sessions: Sessions, database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_DATABASE_URL": database_url, "XDG_STATE_HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "hotline_cli.main", "demo", "seed"]
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    password = (tmp_path / "hotline" / "demo_password_anna").read_text(encoding="utf-8").strip()
    # issue 11: the login is listed, its password only in the 0600 file the output names
    logins = tmp_path / "hotline" / "demo-logins"
    assert "anna     agent" in first.stdout and password not in first.stdout and str(logins) in first.stdout
    assert f"anna     agent      {password}" in logins.read_text(encoding="utf-8")
    assert UserService(sessions).authenticate("anna", password) is not None
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "database not empty; demo data not added" in again.stdout


def test_cli_demo_seed_no_logins_keeps_the_passwords_off_the_screen(
        sessions: Sessions, database_url: str, tmp_path: Path) -> None:
    """`hotline up` seeds with --no-logins and prints the logins once itself."""
    env = {**os.environ, "HOTLINE_DATABASE_URL": database_url, "XDG_STATE_HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "hotline_cli.main", "demo", "seed", "--no-logins"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    password = (tmp_path / "hotline" / "demo_password_anna").read_text(encoding="utf-8").strip()
    assert done.stdout.strip() == "demo data added" and password not in done.stdout
    assert UserService(sessions).authenticate("anna", password) is not None


def test_the_other_sites_demo_agents_share_phone_1001_and_are_added_once(sessions: Sessions) -> None:
    """`hotline up --sites 3`: each site's Asterisk has its own 1001; its demo agent is added
    for the sites that run, also to a database seeded with one site before."""
    from hotline_cli.demo import logins_overview
    from tickets.demo import DEMO_SITE_USERS, seed_site_users

    passwords = {**_passwords(), **{u: f"pw-{u}-0123456789" for u, *_ in DEMO_SITE_USERS}}
    assert seed_demo(sessions, passwords) is True
    assert seed_site_users(sessions, passwords, ["main"]) == []
    assert seed_site_users(sessions, passwords, ["main", "b"]) == ["berit"]
    assert seed_site_users(sessions, passwords, ["main", "b", "c"]) == ["conny"]  # started again with 3
    assert seed_site_users(sessions, passwords, ["main", "b", "c"]) == []
    users = {u.username: u for u in UserService(sessions).all()}
    assert (users["anna"].site, users["anna"].endpoint) == ("main", "PJSIP/1001")
    assert (users["berit"].site, users["berit"].endpoint, users["berit"].partner) == ("b", "PJSIP/1001",
                                                                                       "Callcenter Nord")
    assert UserService(sessions).authenticate("conny", "pw-conny-0123456789") is not None
    lines = logins_overview(["main", "b", "c"])
    assert "berit    agent      phone PJSIP/1001 at site b" in lines and len(lines) == len(DEMO_USERS) + 2
    assert not any("berit" in line for line in logins_overview())
