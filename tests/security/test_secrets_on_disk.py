"""Issue 11 row 12: `hotline up` and `hotline demo seed` printed every demo password,
the admin's too; hotline.db and its -wal/-shm were 0644.

Now the screen shows names, roles and the path of a 0600 file with the passwords,
and a SQLite database and its side files are created readable by their owner only.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hotline_cli.up import _print_howto
from tickets.db import make_engine
from tickets.demo import DEMO_USERS

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def usual_umask() -> Iterator[None]:
    """The common default (022): what made the files 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _passwords(state: Path) -> dict[str, str]:
    return {u: (state / "hotline" / f"demo_password_{u}").read_text().strip() for u, _, _, _ in DEMO_USERS}


def _shows_logins_not_passwords(out: str, state: Path) -> None:
    passwords = _passwords(state)
    assert [u for u, p in passwords.items() if p in out] == []
    logins = state / "hotline" / "demo-logins"
    assert str(logins) in out
    for user, role, _, _ in DEMO_USERS:
        assert f"{user:8s} {role.value}" in out
    assert _mode(logins) == 0o600
    listed = logins.read_text()
    assert all(f"{u:8s} {role.value:10s} {passwords[u]}" in listed for u, role, _, _ in DEMO_USERS)


def test_demo_seed_shows_where_the_passwords_are_not_the_passwords(tmp_path: Path, usual_umask: None) -> None:
    db = tmp_path / "demo.db"  # its own empty database: demo data goes only into an empty one
    env = {**os.environ, "HOTLINE_DATABASE_URL": f"sqlite:///{db}", "XDG_STATE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "hotline_cli.main", "demo", "seed"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "demo data added" in done.stdout, done.stdout + done.stderr
    _shows_logins_not_passwords(done.stdout + done.stderr, tmp_path)
    assert _mode(db) == 0o600  # with the users' password hashes in it


def test_hotline_up_shows_where_the_passwords_are_not_the_passwords(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        usual_umask: None) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    _print_howto(8000, ("1001", "1002", "1003"), serving=True)
    _shows_logins_not_passwords(capsys.readouterr().out, tmp_path)


def test_a_state_file_that_existed_wider_is_narrowed_before_the_secret_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usual_umask: None) -> None:
    from hotline_cli.state import load_or_create_secret

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    stale = tmp_path / "hotline" / "session_secret"
    stale.parent.mkdir()
    stale.write_text("")  # empty, 0644: regenerated
    secret = load_or_create_secret("session_secret")
    assert _mode(stale) == 0o600 and stale.read_text().strip() == secret


def test_a_sqlite_database_and_its_wal_and_shm_are_readable_by_their_owner_only(tmp_path: Path,
                                                                                usual_umask: None) -> None:
    db = tmp_path / "hotline.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    files = [db, tmp_path / "hotline.db-wal", tmp_path / "hotline.db-shm"]
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}  # all three exist after a write
    engine.dispose()


def test_an_existing_wider_database_is_narrowed(tmp_path: Path, usual_umask: None) -> None:
    db = tmp_path / "old.db"
    for path in (db, tmp_path / "old.db-wal", tmp_path / "old.db-shm"):
        path.write_bytes(b"")
        path.chmod(0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert [_mode(p) for p in (db, tmp_path / "old.db-wal", tmp_path / "old.db-shm")] == [0o600] * 3



def test_making_another_engine_keeps_the_locks_of_a_live_connection(tmp_path: Path) -> None:
    """Making the file private must not open and close it beside a live connection:
    closing any descriptor of a file drops this process's POSIX locks on it. Then
    another process (the writer process, a CLI) that connects and closes believes it
    is the last one, checkpoints and deletes the -wal under the live connection: the
    suite saw "database disk image is malformed"."""
    db = tmp_path / "busy.db"
    first = make_engine(f"sqlite:///{db}")
    with first.connect() as holder:  # WAL mode: holds a shared lock on the file while open
        holder.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        holder.exec_driver_sql("INSERT INTO t VALUES (1)")
        holder.commit()
        make_engine(f"sqlite:///{db}").dispose()
        probe = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT * FROM t'); c.close()"
        subprocess.run([sys.executable, "-c", probe, str(db)], check=True, timeout=30)
        assert (tmp_path / "busy.db-wal").exists(), "another process took this connection for gone"
        holder.exec_driver_sql("INSERT INTO t VALUES (2)")
        holder.commit()
        assert holder.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    first.dispose()
