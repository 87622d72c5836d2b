"""Run the whole test suite: once on SQLite, then the database-backed tests on PostgreSQL.

This is what `./hotline.sh test` (the README's test command) and CI run.
It prints one closing line `total: N passed, N failed, N skipped` summing both runs.
PostgreSQL URL: $HOTLINE_TEST_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test.

Time (the suite must stay well under CI's 40 min on a 2-core machine):
- The PostgreSQL pass runs after the SQLite pass. HOTLINE_TEST_PARALLEL=1 runs it
  beside the SQLite pass instead (its output printed after the SQLite pass's; each pass
  has its own Asterisk, schemas and Redis channel prefixes): faster, but on 2 CPUs the
  live tests' timing (wrap-up, ringing) then shares the machine with a second suite,
  and the one run so far that way had two live tests miss their time, so CI runs the
  passes one after the other.
- The PostgreSQL pass runs only the tests that reach the test database (see
  pytest_collection_modifyitems in tests/conftest.py); the rest ran on SQLite.
- Temporary files (SQLite databases, logs, browser profiles) go to a folder in
  /dev/shm when there is one (TMPDIR; HOTLINE_TEST_TMPDIR names another):
  SQLite's fsync on every commit costs milliseconds on disk, nothing in memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
# Suites that talk to the database and must pass on PostgreSQL as well.
DB_SUITES = ["tests/tickets", "tests/console", "tests/security"]
Counts = dict[str, int]


def pytest_cmd(args: list[str], junit: Path) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--durations=20", f"--junitxml={junit}", *args]


def counts_of(junit: Path) -> Counts:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if junit.exists():
        for suite in ET.parse(junit).getroot().iter("testsuite"):
            for key in counts:
                counts[key] += int(suite.get(key, "0"))
    return counts


def time_by_folder(junit: Path) -> dict[str, float]:
    """Seconds spent per test folder (tests/<folder>, or the file for tests/*.py), from the
    JUnit report: where the suite's time goes, printed so every CI log shows it."""
    spent: dict[str, float] = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            parts = (case.get("classname") or "").split(".")
            key = "/".join(parts[:2]) if len(parts) > 2 else ".".join(parts[:2])
            spent[key] = spent.get(key, 0.0) + float(case.get("time") or 0)
    return spent


def print_time_by_folder(name: str, junit: Path) -> None:
    spent = sorted(time_by_folder(junit).items(), key=lambda kv: -kv[1])
    if spent:
        print(f"time by folder ({name}): " + ", ".join(f"{k} {minutes(v)}" for k, v in spent if v >= 30), flush=True)


def start(args: list[str], env: dict[str, str], junit: Path, out: IO[str] | None = None) -> subprocess.Popen[bytes]:
    cmd = pytest_cmd(args, junit)
    print("+", " ".join(cmd), flush=True)
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT if out else None)


@contextlib.contextmanager
def scratch_folder() -> Iterator[str | None]:
    """A fresh folder for the tests' temporary files, in memory when possible; removed after."""
    chosen = os.environ.get("HOTLINE_TEST_TMPDIR")
    parent = chosen or ("/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None)
    if parent is None:
        yield None
        return
    folder = tempfile.mkdtemp(prefix="hl-tests-", dir=parent)
    # others may pass through, like /tmp: the private PostgreSQL of tests/integration/test_pg_restart.py
    # runs as `postgres` in a folder of its own below (what is inside is the tests' own, 0700 as before)
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def main(argv: list[str]) -> int:
    base_env = dict(os.environ)
    base_env.pop("HOTLINE_TEST_DATABASE_URL", None)
    serial = not os.environ.get("HOTLINE_TEST_PARALLEL")
    with tempfile.TemporaryDirectory(prefix="hotline-junit-") as tmp, scratch_folder() as scratch:
        junit = Path(tmp)
        if scratch:
            base_env["TMPDIR"] = scratch
        pg_env = dict(base_env)
        pg_env["HOTLINE_TEST_DATABASE_URL"] = os.environ.get(
            "HOTLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        suites = [s for s in DB_SUITES if (ROOT / s).exists()]
        pg_args = ["-ra", *suites] if suites and not argv else None
        pg_log = junit / "pg.log"
        began = time.monotonic()
        pg: subprocess.Popen[bytes] | None = None
        pg_ended: list[float] = []
        with open(pg_log, "w") as pg_out:
            if pg_args and not serial:
                print("(the database-backed tests run on PostgreSQL meanwhile; their output follows)", flush=True)
                pg = start(pg_args, pg_env, junit / "pg.xml", pg_out)
                watch = threading.Thread(target=lambda p=pg: (p.wait(), pg_ended.append(time.monotonic())), daemon=True)
                watch.start()
            rc1 = start(["-ra", *argv], base_env, junit / "sqlite.xml").wait()
            sqlite_s = time.monotonic() - began
            if pg is not None:
                rc2 = pg.wait()
                watch.join()
                print("\n=== database-backed tests again on PostgreSQL (run beside the SQLite pass) ===", flush=True)
                sys.stdout.write(pg_log.read_text(errors="replace"))
            elif pg_args:
                print("\n=== database-backed tests again on PostgreSQL ===", flush=True)
                rc2 = start(pg_args, pg_env, junit / "pg.xml").wait()
            else:
                rc2 = 0
        total_s = time.monotonic() - began
        c1, c2 = counts_of(junit / "sqlite.xml"), counts_of(junit / "pg.xml")
        print_time_by_folder("SQLite", junit / "sqlite.xml")
        print_time_by_folder("PostgreSQL", junit / "pg.xml")
    total = {k: c1[k] + c2[k] for k in c1}
    failed = total["failures"] + total["errors"]
    passed = total["tests"] - failed - total["skipped"]
    pg_s = pg_ended[0] - began if pg_ended else total_s - sqlite_s
    print(f"time: SQLite pass {minutes(sqlite_s)}, PostgreSQL pass done after {minutes(pg_s)}"
          f"{' (beside it)' if pg is not None else ''}, {minutes(total_s)} in all", flush=True)
    print(f"total: {passed} passed, {failed} failed, {total['skipped']} skipped", flush=True)
    if total["tests"] == 0:
        return 1
    return 0 if rc1 == 0 and rc2 == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
