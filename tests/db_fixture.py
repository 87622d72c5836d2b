"""The database for tests: a temp SQLite file, or PostgreSQL when
HOTLINE_TEST_DATABASE_URL says so (a throwaway schema per session, dropped after)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tickets.db import make_engine
from tickets.migrate import upgrade


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get("HOTLINE_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        path: Path = tmp_path_factory.mktemp("db") / "hotline.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    schema = f"hl_test_{secrets.token_hex(4)}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
