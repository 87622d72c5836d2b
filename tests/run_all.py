"""Run the whole test suite on SQLite, and the database-backed tests again on PostgreSQL.

This is what `./hotline.sh test` (the README's test command) and CI run.
It prints one closing line `total: N passed, N failed, N skipped` summing every run, and
before it every failed test of every run with the first line of its message.
PostgreSQL URL: $HOTLINE_TEST_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test.

Time (the suite must stay under 40 min on a 2-core machine; CI allows 90):
- Three phases (see _phases): the tests whose timing is not real run on SQLite and on
  PostgreSQL side by side; then the live tests (private Asterisk, Chromium) alone, on
  SQLite and then on PostgreSQL. (The one run with the whole passes side by side had the
  live wrap-up tests miss Asterisk's timing on 2 CPUs.) HOTLINE_TEST_SERIAL=1 runs phase
  1's two processes one after the other.
- The PostgreSQL pass runs only the tests that reach the test database (see
  pytest_collection_modifyitems in tests/conftest.py); the rest ran on SQLite.
- Temporary files (SQLite databases, logs, browser profiles) go to a folder in
  /dev/shm when there is one (TMPDIR; HOTLINE_TEST_TMPDIR names another):
  SQLite's fsync on every commit costs milliseconds on disk, nothing in memory.
- It prints the slowest tests of each run and the minutes spent per folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
# Suites that talk to the database and must pass on PostgreSQL as well.
DB_SUITES = ["tests/tickets", "tests/console", "tests/security"]
Counts = dict[str, int]
NO_TESTS = 5  # pytest's exit code when a phase selects nothing (e.g. no live test reaches the database)


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


def failures_of(junit: Path) -> list[str]:
    """`<test id>: <first line of its message>` for each failed or erroring test of a run."""
    found: list[str] = []
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            for bad in (*case.iter("failure"), *case.iter("error")):
                where = (case.get("classname") or "").replace(".", "/") + ".py::" + (case.get("name") or "")
                first = ((bad.get("message") or bad.text or "").strip().splitlines() or [""])[0]
                found.append(f"{where}: {first[:300]}")
    return found


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
    base_env.pop("HOTLINE_TEST_PHASE", None)
    serial = bool(os.environ.get("HOTLINE_TEST_SERIAL"))
    with tempfile.TemporaryDirectory(prefix="hotline-junit-") as tmp, scratch_folder() as scratch:
        junit = Path(tmp)
        if scratch:
            base_env["TMPDIR"] = scratch
        pg_env = dict(base_env)
        pg_env["HOTLINE_TEST_DATABASE_URL"] = os.environ.get(
            "HOTLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        suites = [s for s in DB_SUITES if (ROOT / s).exists()]
        began = time.monotonic()
        if argv:  # the user's own selection: one run on SQLite, as they asked
            runs = [("SQLite", start(["-ra", *argv], base_env, junit / "sqlite.xml").wait())]
        else:
            runs = _phases(base_env, pg_env, suites, junit, serial)
        total_s = time.monotonic() - began
        counts = [counts_of(x) for x in sorted(junit.glob("*.xml"))]
        failures = [f"({x.stem}) {line}" for x in sorted(junit.glob("*.xml")) for line in failures_of(x)]
        for x in sorted(junit.glob("*.xml")):
            print_time_by_folder(x.stem, x)
    total = {k: sum(c[k] for c in counts) for k in ("tests", "failures", "errors", "skipped")}
    failed = total["failures"] + total["errors"]
    passed = total["tests"] - failed - total["skipped"]
    print(f"time: {minutes(total_s)} in all (" + ", ".join(f"{name} {minutes(sec)}" for name, sec in _SPENT) + ")",
          flush=True)
    for line in failures:  # last, so the end of a long log (all CI may show) names them
        print(f"FAILED {line}", flush=True)
    print(f"total: {passed} passed, {failed} failed, {total['skipped']} skipped", flush=True)
    if total["tests"] == 0:
        return 1
    return 0 if all(rc in (0, NO_TESTS) for _, rc in runs) else 1


_SPENT: list[tuple[str, float]] = []  # (phase, seconds) as they ran


def _phases(base_env: dict[str, str], pg_env: dict[str, str], suites: list[str], junit: Path,
            serial: bool) -> list[tuple[str, int]]:
    """The whole suite in three phases (HOTLINE_TEST_SERIAL=1: one after the other):
    1. the tests whose timing is not real, on SQLite and (the database-backed ones) on
       PostgreSQL side by side - two CPU-bound processes for the two cores;
    2. the live tests (private Asterisk, Chromium; see tests/conftest.py) on SQLite, alone:
       their waits on Asterisk's and the browser's timing get the machine to themselves;
    3. the database-backed live tests on PostgreSQL, alone."""
    rest, live = dict(HOTLINE_TEST_PHASE="rest"), dict(HOTLINE_TEST_PHASE="live")
    runs: list[tuple[str, int]] = []
    began = time.monotonic()
    pg_log = junit / "pg-rest.log"
    with open(pg_log, "w") as pg_out:
        pg = None
        if suites and not serial:
            print("(phase 1: the database-backed tests run on PostgreSQL meanwhile; their output follows)",
                  flush=True)
            pg = start(["-ra", *suites], {**pg_env, **rest}, junit / "2-pg-rest.xml", pg_out)
        runs.append(("SQLite rest", start(["-ra"], {**base_env, **rest}, junit / "1-sqlite-rest.xml").wait()))
        if pg is not None:
            runs.append(("PostgreSQL rest", pg.wait()))
            print("\n=== phase 1: database-backed tests on PostgreSQL (run beside SQLite) ===", flush=True)
            sys.stdout.write(pg_log.read_text(errors="replace"))
        elif suites:
            print("\n=== database-backed tests on PostgreSQL ===", flush=True)
            runs.append(("PostgreSQL rest",
                         start(["-ra", *suites], {**pg_env, **rest}, junit / "2-pg-rest.xml").wait()))
    _SPENT.append(("phase 1", time.monotonic() - began))
    began = time.monotonic()
    print("\n=== phase 2: live tests (Asterisk, Chromium) on SQLite ===", flush=True)
    runs.append(("SQLite live", start(["-ra"], {**base_env, **live}, junit / "3-sqlite-live.xml").wait()))
    _SPENT.append(("phase 2", time.monotonic() - began))
    if suites:
        began = time.monotonic()
        print("\n=== phase 3: database-backed live tests on PostgreSQL ===", flush=True)
        runs.append(("PostgreSQL live",
                     start(["-ra", *suites], {**pg_env, **live}, junit / "4-pg-live.xml").wait()))
        _SPENT.append(("phase 3", time.monotonic() - began))
    return runs


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
