"""`hotline call`: the SIPp command it builds carries the caller's number and name,
also when keys are pressed (the key captures once overwrote the name)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from hotline_cli import phones


@pytest.mark.parametrize("dtmf", ["", "2", "1,2,123#"])
def test_the_callers_name_and_number_reach_sipp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtmf: str) -> None:
    seen: list[list[str]] = []

    def run(cmd: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(phones, "_sipp_prefix", lambda: (["sipp"], tmp_path, tmp_path))
    monkeypatch.setattr(phones.subprocess, "run", run)
    phones.place_calls("+49 341 2538-5555", name="Erika Mustermann", dtmf=dtmf, duration=5)
    (cmd,) = seen
    keys = {cmd[i + 1]: cmd[i + 2] for i, arg in enumerate(cmd) if arg == "-key"}
    assert keys == {"caller_num": "+49%20341%202538-5555", "caller_name": "Erika Mustermann"}
    assert bool(list(tmp_path.glob("keys-*.pcap"))) == bool(dtmf)
