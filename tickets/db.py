"""Engines and sessions: SQLite by default (WAL, busy timeout, foreign keys), PostgreSQL.

Layer: storage shell. A SQLite file holds password hashes and callers' numbers:
it is created readable by its owner only (0600), and so are its -wal and -shm.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tickets.report_agg_marks import install

T = TypeVar("T")


def _private_sqlite_file(url: str) -> None:
    """Create the database file 0600 before SQLite does (SQLite would use the umask,
    0644 by default), or take group and other access away from an existing one and
    its -wal/-shm. SQLite gives the -wal and -shm it makes the database file's mode.

    An existing file is never opened here, only chmod-ed by path: closing any
    descriptor of a file drops every POSIX lock this process holds on it, so an
    open+close beside a live connection corrupted the database (seen in the suite)."""
    parsed = make_url(url)
    name = parsed.database or ""
    if not name or name == ":memory:" or name.startswith("file:") or parsed.query.get("mode") == "memory":
        return  # in memory, or a URI SQLite resolves itself
    path = Path(name)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        return  # no such folder, read-only...: SQLite reports it on connect, as before
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # -wal/-shm may not exist (yet)
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


def make_engine(url: str, ping: bool = True, generic_plans: bool = False) -> Engine:
    """`ping=False` for hot single-statement reads (the caller lookup): no round trip on every
    checkout; the caller retries once on an error whose `connection_invalidated` is set.

    `generic_plans=True` (PostgreSQL; the caller lookup's own engine): a prepared statement
    runs its one generic plan. By default PostgreSQL plans the lookup anew on every run, as
    a custom plan for the keys at hand looks cheaper than the generic one (estimated for
    ten keys, not eight), although both are the same index probes: planning was about
    0.3 ms of the server's CPU per lookup, the run itself under 0.1 ms."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 10})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=ping)
    if generic_plans:

        @event.listens_for(engine, "connect")
        def _generic_plans(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("SET plan_cache_mode = force_generic_plan")
            cur.close()
            dbapi_conn.commit()  # a rollback (the pool's reset) would undo a SET in an open transaction

    return engine


def once_more_if_dropped(run: Callable[[], T]) -> T:
    """`run()`, and once more when it failed on a pooled connection the server had closed
    (an engine without ping on checkout finds that out on the first statement)."""
    try:
        return run()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return run()


def database_ok(engine: Engine) -> bool:
    """True when the database answers a trivial query now (for /healthz)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


def session_factory(engine: Engine) -> sessionmaker[Session]:
    sessions = sessionmaker(engine, expire_on_commit=False)
    install(sessions)  # writes mark the report aggregates they make stale
    return sessions


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
