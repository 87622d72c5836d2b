"""`hotline db upgrade`: apply the Alembic migrations to HOTLINE_DATABASE_URL.

Layer: edge.
"""

from __future__ import annotations

import argparse
import sys


def add_db_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="database: upgrade (Alembic migrations)")
    p.add_argument("action", choices=("upgrade",))
    p.set_defaults(func=run_db)


def run_db(_args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from agent_console.settings import Settings
    from tickets.migrate import upgrade

    url = Settings().database_url
    try:
        upgrade(url)
    except OperationalError as exc:
        print(f"hotline db upgrade: cannot reach the database: {exc.orig}", file=sys.stderr)
        return 1
    print("database is at the newest schema")
    return 0
