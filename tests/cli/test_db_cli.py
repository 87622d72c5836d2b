from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOTLINE_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "hotline_cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_db_upgrade_creates_the_schema_and_is_repeatable(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    for _ in range(2):
        out = run(["db", "upgrade"], f"sqlite:///{db}")
        assert out.returncode == 0, out.stderr
    tables = {r[0] for r in sqlite3.connect(db).execute("select name from sqlite_master")}
    assert {"tickets", "call_records", "contacts", "phones", "ticket_history"} <= tables


def test_db_upgrade_unreachable_database_is_a_clear_error() -> None:
    out = run(["db", "upgrade"], "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert out.returncode == 1 and "cannot reach the database" in out.stderr
