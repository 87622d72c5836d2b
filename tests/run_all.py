"""Run the whole test suite: once on SQLite, then the database-backed tests on PostgreSQL.

This is what `./hotline.sh test` (the README's test command) and CI run.
It prints one closing line `total: N passed, N failed, N skipped` summing both runs.
PostgreSQL URL: $HOTLINE_TEST_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Suites that talk to the database and must pass on PostgreSQL as well.
DB_SUITES = ["tests/tickets", "tests/console", "tests/security"]


def run(args: list[str], env: dict[str, str], junit: Path) -> tuple[int, dict[str, int]]:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", *args]
    print("+", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if junit.exists():
        for suite in ET.parse(junit).getroot().iter("testsuite"):
            for key in counts:
                counts[key] += int(suite.get(key, "0"))
    return rc, counts


def main(argv: list[str]) -> int:
    base_env = dict(os.environ)
    base_env.pop("HOTLINE_TEST_DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="hotline-junit-") as tmp:
        rc1, c1 = run(["-ra", *argv], base_env, Path(tmp) / "sqlite.xml")
        pg_env = dict(base_env)
        pg_env["HOTLINE_TEST_DATABASE_URL"] = os.environ.get(
            "HOTLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        suites = [s for s in DB_SUITES if (ROOT / s).exists()]
        rc2, c2 = (0, {"tests": 0, "failures": 0, "errors": 0, "skipped": 0})
        if suites and not argv:
            print("\n=== database-backed tests again on PostgreSQL ===", flush=True)
            rc2, c2 = run(["-ra", *suites], pg_env, Path(tmp) / "pg.xml")
    total = {k: c1[k] + c2[k] for k in c1}
    failed = total["failures"] + total["errors"]
    passed = total["tests"] - failed - total["skipped"]
    print(f"total: {passed} passed, {failed} failed, {total['skipped']} skipped", flush=True)
    if total["tests"] == 0:
        return 1
    return 0 if rc1 == 0 and rc2 == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
