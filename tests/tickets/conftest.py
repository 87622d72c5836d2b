"""The ticket tests' database: `sessions` on the session's test database (SQLite, or a
PostgreSQL schema), every table emptied before and after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.db_fixture import Sessions, wipe
from tickets.db import make_engine, session_factory


@pytest.fixture
def sessions(database_url: str) -> Iterator[Sessions]:
    engine = make_engine(database_url)
    factory = session_factory(engine)
    wipe(factory)  # other suites' rows (console, callbacks of abandoned calls) never leak in
    yield factory
    wipe(factory)
    engine.dispose()
