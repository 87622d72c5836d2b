"""The database for tests: a temp SQLite file, or PostgreSQL when
HOTLINE_TEST_DATABASE_URL says so (a throwaway schema, dropped after).

`database_url` is one database for the whole session (unit and API tests clean
up after themselves); `module_database_url` is a fresh one per test module, for
the tests that run a real `hotline serve` with users and calls of their own.
`wipe` empties the tables between tests.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from tickets.db import scratch_schema
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


@contextlib.contextmanager
def throwaway_database(folder: Path) -> Iterator[str]:
    base = os.environ.get("HOTLINE_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        url = f"sqlite:///{folder / 'hotline.db'}"
        upgrade(url)
        yield url
        return
    with scratch_schema(base, "hl_test") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with throwaway_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with throwaway_database(tmp_path_factory.mktemp("moddb")) as url:
        yield url
