"""The shipped systemd unit (deploy/hotline-serve.service) is valid for systemd and
starts the commands this checkout really has."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
UNIT = ROOT / "deploy" / "hotline-serve.service"


def test_the_unit_runs_hotline_serve_after_the_migrations() -> None:
    lines = UNIT.read_text().splitlines()
    assert "ExecStartPre=/opt/hotline/.venv/bin/hotline db upgrade" in lines
    assert "ExecStart=/opt/hotline/.venv/bin/hotline serve" in lines
    assert "EnvironmentFile=/etc/hotline/hotline.env" in lines and "UMask=0077" in lines


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing (Debian's systemd package); it checks the shipped unit")
    venv = Path(sys.executable).parent.parent
    unit = tmp_path / "hotline-serve.service"
    unit.write_text(UNIT.read_text().replace("/opt/hotline/.venv", str(venv)).replace("/opt/hotline", str(ROOT)))
    out = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
