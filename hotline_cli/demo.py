"""`hotline demo seed`: migrate, then add demo customers and users to an empty database.

Layer: edge. Each demo user's password is generated once and kept in the
state folder (hotline_cli.state, mode 0600); the logins are printed when the
data is added. A database with contacts or users is left alone.
"""

from __future__ import annotations

import argparse
import sys


def add_demo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="demo data: seed an empty database with customers and users")
    p.add_argument("action", choices=("seed",))
    p.add_argument("--no-logins", action="store_true",
                   help="do not print the logins (`hotline up` prints them itself)")
    p.set_defaults(func=run_demo_seed)


def run_demo_seed(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from agent_console.settings import Settings
    from hotline_cli.state import load_or_create_secret
    from tickets.db import make_engine, session_factory
    from tickets.demo import DEMO_USERS, seed_demo
    from tickets.migrate import upgrade

    url = Settings().database_url
    passwords = {user: load_or_create_secret(f"demo_password_{user}") for user, _, _, _ in DEMO_USERS}
    try:
        upgrade(url)
        engine = make_engine(url)
        seeded = seed_demo(session_factory(engine), passwords)
        engine.dispose()
    except OperationalError as exc:
        print(f"hotline demo seed: cannot reach the database: {exc.orig}", file=sys.stderr)
        return 1
    if not seeded:
        print("database not empty; demo data not added")
        return 0
    if args.no_logins:
        print("demo data added")
        return 0
    print("demo data added; logins:")
    for user, role, endpoint, _language in DEMO_USERS:
        print(f"  {user:8s} {role.value:10s} {passwords[user]}" + (f"  ({endpoint})" if endpoint else ""))
    return 0
