"""Issue 11 row 12: one SIP password for 1001-1010 (with `remove_existing = yes`) let
any agent register as another's extension; pjsip.conf holding it was 0644.

Every endpoint now has its own password, generated once into the state folder
(0600), and every rendered config file is 0600 in a 0700 folder.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hotline_cli.asterisk import AGENTS, PbxConfig, PrivateAsterisk, default_pbx, new_agent_passwords
from hotline_cli.up import demo_phones
from tests.pbx_fixture import Pbx


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.asterisk
@pytest.mark.timeout(60)
def test_a_phone_cannot_register_as_another_agent_with_its_own_password(pbx: Pbx) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hotline_cli.main", "phone", "--agent", "1002", "--sip-port", str(pbx.sip_port)],
        input=pbx.sip_password("1001") + "\n", capture_output=True, text=True, timeout=45)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "phone 1002: registration failed" in proc.stderr and "registered" not in proc.stdout
    assert "Contact:  1002/" not in pbx.cli("pjsip show contacts")
    with pbx.phone("1002"):  # its own password still works
        assert "Contact:  1002/" in pbx.cli("pjsip show contacts")


@pytest.mark.asterisk
@pytest.mark.timeout(60)
def test_hotline_up_starts_each_demo_phone_with_its_own_password(pbx: Pbx, capsys: pytest.CaptureFixture[str]) -> None:
    with demo_phones(("1001", "1003"), pbx.sip_port, pbx.asterisk.config.agent_passwords, answer_after=1.0):
        shown = capsys.readouterr().out
        contacts = pbx.cli("pjsip show contacts")
    assert "phone 1001: registered" in shown and "phone 1003: registered" in shown, shown
    assert "Contact:  1001/" in contacts and "Contact:  1003/" in contacts


@pytest.mark.asterisk
def test_the_rendered_config_holds_one_password_per_endpoint_readable_by_its_owner_only(pbx: Pbx) -> None:
    etc = pbx.asterisk.outer / "etc"
    assert _mode(etc) == 0o700
    confs = sorted(etc.glob("*.conf"))
    assert {c.name for c in confs} >= {"pjsip.conf", "manager.conf", "extensions.conf"}
    assert {c.name: _mode(c) for c in confs} == {c.name: 0o600 for c in confs}
    text = (etc / "pjsip.conf").read_text()
    for agent in AGENTS:
        section = re.search(rf"^\[{agent}\]\(agent-auth\)\n(.*?)\n\n", text, re.M | re.S)
        assert section is not None and f"password = {pbx.sip_password(agent)}" in section.group(1)
    assert len({pbx.sip_password(a) for a in AGENTS}) == len(AGENTS)
    assert not re.search(r"@[A-Z][A-Z0-9_]*@", text)  # every placeholder filled


def test_install_generates_each_endpoint_its_own_password_once(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    first = default_pbx().config.agent_passwords
    assert sorted(first) == list(AGENTS) and len(set(first.values())) == len(AGENTS)
    files = {a: tmp_path / "hotline" / f"sip_password_{a}" for a in AGENTS}
    assert {a: _mode(f) for a, f in files.items()} == {a: 0o600 for a in AGENTS}
    assert {a: f.read_text().strip() for a, f in files.items()} == first
    assert default_pbx().config.agent_passwords == first  # kept, not regenerated


def test_a_shared_or_missing_password_is_refused() -> None:
    passwords = new_agent_passwords()
    shared = {**passwords, "1002": passwords["1001"]}
    with pytest.raises(ValueError, match="share a SIP password"):
        PrivateAsterisk(PbxConfig(name="x", ami_secret="a" * 16, agent_passwords=shared))
    with pytest.raises(ValueError, match="missing: 1010"):
        PrivateAsterisk(PbxConfig(name="x", ami_secret="a" * 16,
                                  agent_passwords={a: p for a, p in passwords.items() if a != "1010"}))
    with pytest.raises(ValueError, match="misread"):
        PrivateAsterisk(PbxConfig(name="x", ami_secret="a" * 16, agent_passwords={**passwords, "1003": "pw;comment"}))
