"""The database for tests: a temp SQLite file, or PostgreSQL when
HOTLINE_TEST_DATABASE_URL says so (a throwaway schema, dropped after).

SQLite: the migrations run once per test session, into a template file; each
database is a copy of it (SQLite's backup API), so a module's own database costs
a file copy, not 17 migrations. PostgreSQL: each schema is migrated, and its
connections commit without waiting for the WAL flush (synchronous_commit=off:
the test server is never crashed under them; tests/integration/test_pg_restart.py
runs a private server of its own with the default).

`database_url` is one database for the whole session (unit and API tests clean
up after themselves); `module_database_url` is a fresh one per test module, for
the tests that run a real `hotline serve` with users and calls of their own.
`wipe` empties the tables between tests.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from tickets.db import make_engine, scratch_schema, session_factory
from tickets.migrate import upgrade
from tickets.models import Base

Sessions = sessionmaker[Session]


def wipe(sessions: Sessions, keep: Collection[str] = ()) -> None:
    """Delete every row of every table but those named in `keep`, children before
    their parents (reversed `sorted_tables`), so foreign keys never object."""
    with sessions.begin() as s:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in keep:
                s.execute(delete(table))


_TEMPLATE: list[Path] = []  # the migrated SQLite template of this process, made on first use


def _sqlite_template() -> Path:
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="hotline-db-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "template.db"
        upgrade(f"sqlite:///{path}")
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


def migrated_sqlite_copy(path: Path) -> str:
    """A SQLite database at `path` (created 0600) with every migration applied: a copy of the template."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with contextlib.closing(sqlite3.connect(_sqlite_template())) as src, \
            contextlib.closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    return f"sqlite:///{path}"


def _no_flush_wait(url: str) -> str:
    """The scratch schema's URL, its sessions committing without waiting for the WAL flush."""
    marker = "options=-csearch_path%3D"
    assert marker in url, url
    return url.replace(marker, "options=-csynchronous_commit%3Doff%20-csearch_path%3D")


@contextlib.contextmanager
def throwaway_database(folder: Path) -> Iterator[str]:
    base = os.environ.get("HOTLINE_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield migrated_sqlite_copy(folder / "hotline.db")
        return
    with scratch_schema(base, "hl_test") as url:
        url = _no_flush_wait(url)
        upgrade(url)
        yield url


@contextlib.contextmanager
def unmigrated_database(folder: Path, schema: str) -> Iterator[str]:
    """An empty database of the test's own, for a migration test to take from an old
    revision up: a SQLite file in `folder`, or on PostgreSQL a scratch schema."""
    base = os.environ.get("HOTLINE_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{folder / 'old.db'}"
        return
    with scratch_schema(base, schema) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with throwaway_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with throwaway_database(tmp_path_factory.mktemp("moddb")) as url:
        yield url


@contextlib.contextmanager
def db_sessions(url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on `url` whose engine is disposed on leaving (its pooled
    connections closed now, not left to the garbage collector: a ResourceWarning)."""
    engine = make_engine(url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@contextlib.contextmanager
def wiped_sessions(url: str) -> Iterator[sessionmaker[Session]]:
    """`db_sessions(url)` with every table emptied before and after (a test module's own database)."""
    with db_sessions(url) as made:
        wipe(made)
        yield made
        wipe(made)
