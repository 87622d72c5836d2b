"""Engines and sessions: SQLite by default (WAL, busy timeout, foreign keys), PostgreSQL.

Layer: storage shell.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, ping: bool = True) -> Engine:
    """`ping=False` for hot single-statement reads (the caller lookup): no round trip on every
    checkout; the caller retries once on an error whose `connection_invalidated` is set."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=ping)


def database_ok(engine: Engine) -> bool:
    """True when the database answers a trivial query now (for /healthz)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def scratch_schema(base_url: str, prefix: str = "hl_scratch") -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards
    (tests and benchmarks share one database without seeing each other's rows)."""
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
