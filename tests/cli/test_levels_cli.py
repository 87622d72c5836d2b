"""`hotline departments …`, `hotline targets …` and `hotline reports …` over a real
database: JSON on stdout, a refused input as one line on stderr and exit code 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tickets.migrate import upgrade


def _run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOTLINE_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "hotline_cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_departments_targets_and_report_aggregates_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    made = _run(["departments", "add", "Netzwerk", "--description", "2nd level"], url)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["name"] == "Netzwerk"
    listed = _run(["departments", "list"], url)
    assert [d["name"] for d in json.loads(listed.stdout)] == ["Netzwerk"]
    again = _run(["departments", "add", "Netzwerk"], url)
    assert again.returncode == 1 and again.stderr.startswith("hotline: ") and again.stdout == ""
    no_org = _run(["targets", "set", "--org", "Nobody GmbH", "--priority", "high", "--level", "2", "--hours", "8"], url)
    assert no_org.returncode == 1 and "Nobody GmbH" in no_org.stderr
    rebuilt = _run(["reports", "rebuild"], url)
    assert rebuilt.returncode == 0 and rebuilt.stdout.startswith("report aggregates rebuilt: "), rebuilt.stderr
    broken = _run(["reports", "catch-up"], f"sqlite:///{tmp_path / 'no-such-dir' / 'h.db'}")
    assert broken.returncode == 1 and broken.stderr.startswith("hotline reports catch-up: database error: ")
