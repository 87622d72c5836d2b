"""`hotline demo seed`: migrate, then add demo customers and users to an empty database.

Layer: edge. Each demo user's password is generated once and kept in the
state folder (hotline_cli.state, mode 0600). No password is printed: the
screen (and a terminal's scrollback, a CI log) shows the usernames and roles
and the path of `demo-logins`, a 0600 file that lists them with their
passwords. A database with contacts or users is left alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hotline_cli.state import load_or_create_secret, state_dir, write_private

LOGINS_FILE = "demo-logins"


def add_demo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="demo data: seed an empty database with customers and users")
    p.add_argument("action", choices=("seed",))
    p.add_argument("--no-logins", action="store_true",
                   help="do not list the logins (`hotline up` lists them itself)")
    p.add_argument("--sites", default="main",
                   help="comma-separated sites that run (`hotline up --sites N`): the demo agent of each "
                        "other site is added too, also to a database seeded before (default: main)")
    p.set_defaults(func=run_demo_seed)


def _logins(sites: Sequence[str]) -> list[tuple[str, str, str | None, str]]:
    """(user, role, endpoint, site) of every demo login for these sites."""
    from tickets.demo import DEMO_SITE_USERS, DEMO_USERS

    return ([(user, role.value, endpoint, "main") for user, role, endpoint, _ in DEMO_USERS]
            + [(user, "agent", endpoint, site) for user, site, endpoint, _, _ in DEMO_SITE_USERS if site in sites])


def demo_passwords(folder: Path | None = None, sites: Sequence[str] = ("main",)) -> dict[str, str]:
    """Each demo user's password, generated once into the state folder."""
    return {user: load_or_create_secret(f"demo_password_{user}", folder) for user, _, _, _ in _logins(sites)}


def logins_overview(sites: Sequence[str] = ("main",)) -> list[str]:
    """One line per demo user: name, role, phone endpoint (and its site when there are
    several); never the password."""
    several = len(sites) > 1
    return [(f"{user:8s} {role:10s}" + (f" phone {endpoint}" if endpoint else "")
             + (f" at site {site}" if endpoint and several else "")).rstrip()
            for user, role, endpoint, site in _logins(sites)]


def write_demo_logins(folder: Path | None = None, sites: Sequence[str] = ("main",)) -> Path:
    """(Re)write `demo-logins` (0600) in the state folder with every demo login; its path."""
    folder = folder or state_dir()
    passwords = demo_passwords(folder, sites)
    lines = ["# hotline demo logins: username, role, password (this file is readable only by you)"]
    lines += [f"{user:8s} {role:10s} {passwords[user]}" for user, role, _, _ in _logins(sites)]
    path = folder / LOGINS_FILE
    write_private(path, "\n".join(lines) + "\n")
    return path


def run_demo_seed(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from agent_console.settings import Settings
    from tickets.db import make_engine, session_factory
    from tickets.demo import seed_demo, seed_site_users
    from tickets.migrate import upgrade

    url = Settings().database_url
    sites = [s.strip() for s in args.sites.split(",") if s.strip()] or ["main"]
    passwords = demo_passwords(sites=sites)
    try:
        upgrade(url)
        engine = make_engine(url)
        seeded = seed_demo(session_factory(engine), passwords)
        added = seed_site_users(session_factory(engine), passwords, sites)
        engine.dispose()
    except OperationalError as exc:
        print(f"hotline demo seed: cannot reach the database: {exc.orig}", file=sys.stderr)
        return 1
    if added:
        print(f"demo agents of the other sites added: {', '.join(added)}")
    if not seeded:
        print("database not empty; demo data not added")
        return 0
    if args.no_logins:
        print("demo data added")
        return 0
    print(f"demo data added; logins (passwords in {write_demo_logins(sites=sites)}, readable only by you):")
    for line in logins_overview(sites):
        print(f"  {line}")
    return 0
