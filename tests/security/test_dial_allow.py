"""Issue 11: click-to-dial and transfer reached any external number (no allow-list).

HOTLINE_DIAL_ALLOW is checked in Python before an Originate or BlindTransfer is
built (422 with the reason), and the same patterns are the only way out of the
`agents` dialplan context, so a desk phone cannot dial around the console.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from agent_console.settings import Settings
from cti import actions
from cti.dial_allow import DialAllowList, DialRefused
from hotline_cli.asterisk import PbxConfig, PrivateAsterisk, new_agent_passwords
from hotline_cli.phones import _sipp_prefix, free_udp_port
from tests.db_fixture import db_sessions
from tests.integration.test_serve_restart import poll
from tests.pbx_fixture import Pbx, free_tcp_port
from tests.serve_process import serve
from tickets.models import Role, User
from tickets.users import UserService

SECRET = SecretStr("x" * 32)
DEFAULT = Settings(session_secret=SECRET).dial_allow_list
EXTERNAL = "+49 341 7100002"
SCENARIO = Path(__file__).with_name("desk_phone_dials.xml")


@pytest.mark.parametrize("number", ["1001", "1002", "1010", "1099", "5555"])
def test_the_default_reaches_the_agents_and_the_hotline(number: str) -> None:
    assert DEFAULT.allows(number)


@pytest.mark.parametrize("number", ["+4934171000", "03417100002", "0", "110", "112", "5556", "10021",
                                    "1002\n", "2000", "*1002", "#", ""])
def test_the_default_reaches_nothing_else(number: str) -> None:
    assert not DEFAULT.allows(number)


def test_patterns_read_as_asterisk_reads_them() -> None:
    allow = DialAllowList.parse(" _10xx , 0[1-9]X. ,+49341!, 2[0-35-9]Z, N5 ")
    assert allow.patterns == ("10XX", "0[1-9]X.", "+49341!", "2[0-35-9]Z", "N5")
    assert allow.dialplan_patterns() == ("_10XX", "_0[1-9]X.", "_+49341!", "_2[0-35-9]Z", "_N5")
    reached = ["1042", "0341", "0341123456", "+49341", "+4934112", "201", "259", "25"]
    missed = ["104", "034", "00341", "+4934", "241", "200", "15", "5", "+49 341"]
    assert [n for n in reached if not allow.allows(n)] == []
    assert [n for n in missed if allow.allows(n)] == []
    assert not DialAllowList.parse("").allows("1001")


@pytest.mark.parametrize("spec", ["10XX;Dial(x)", "10XX\nexten => _X.", "1.0", ".", "[5-1]", "abc", "10 XX",
                                  "_X.,Goto(x)", "X" * 41])
def test_a_pattern_that_could_break_the_dialplan_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="dial allow-list pattern"):
        DialAllowList.parse(spec)


def test_the_setting_is_validated_when_read() -> None:
    with pytest.raises(ValidationError, match="dial allow-list pattern"):
        Settings(session_secret=SECRET, dial_allow="10XX,_X.;x")
    custom = Settings(session_secret=SECRET, dial_allow="10XX,0X.")
    assert custom.dial_allow_list.allows("03417100002")


def test_actions_are_not_built_for_a_number_off_the_list() -> None:
    with pytest.raises(DialRefused, match=r"'\+493417100002' is not on this hotline's dial allow-list"):
        actions.originate("PJSIP/1001", EXTERNAL, DEFAULT)
    with pytest.raises(DialRefused, match="allowed: 10XX, 5555"):
        actions.blind_transfer("PJSIP/1001-0000000a", EXTERNAL, DEFAULT)
    assert actions.blind_transfer("PJSIP/1001-0000000a", "1002", DEFAULT).fields["Exten"] == "1002"
    assert actions.originate("PJSIP/1001", "55 55", DEFAULT).fields["Exten"] == "5555"


def test_click_to_dial_answers_422_off_the_list(login: Any) -> None:
    anna = login("anna")
    r = anna.send("POST", "/api/agent/dial", json={"number": EXTERNAL})
    assert r.status_code == 422, r.text
    assert "dial allow-list" in r.json()["detail"] and "10XX, 5555" in r.json()["detail"]
    # on the list, the same request gets past validation and only lacks the PBX (bridge off here)
    assert anna.send("POST", "/api/agent/dial", json={"number": "1002"}).status_code == 503


def test_the_dialplan_is_rendered_from_the_same_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ASTERISK_ROOT", str(tmp_path))  # render only: no Asterisk is started
    config = PbxConfig(name="render", ami_secret=secrets.token_urlsafe(12), agent_passwords=new_agent_passwords(),
                       dial_allow="10XX,0[1-9]X.")
    pbx = PrivateAsterisk(config)
    pbx.render()
    agents = _context(pbx.outer / "etc" / "extensions.conf", "agents")
    assert agents == ["exten => _10XX,1,Goto(agents-dial,${EXTEN},1)",
                      "exten => _0[1-9]X.,1,Goto(agents-dial,${EXTEN},1)",
                      # a blind-transferred caller sent to no extension goes back to the queue
                      'exten => i,1,GotoIf($["${BLINDTRANSFER}" != ""]?hotline-5555,5555,open)',
                      " same => n,Hangup()"]
    with pytest.raises(ValueError, match="dial allow-list pattern"):
        PrivateAsterisk(PbxConfig(name="bad", ami_secret=config.ami_secret,
                                  agent_passwords=config.agent_passwords, dial_allow="_X.,1;x"))


def _context(conf: Path, name: str) -> list[str]:
    """The non-comment lines of one dialplan context."""
    lines, inside = [], False
    for line in conf.read_text().splitlines():
        if line.startswith("["):
            inside = line.startswith(f"[{name}]")
        elif inside and line.strip() and not line.lstrip().startswith(";"):
            lines.append(line)
    return lines


@pytest.mark.asterisk
def test_the_agents_context_has_only_the_allowed_numbers(pbx: Pbx) -> None:
    for number in ("1002", "5555"):
        assert "1 extension (" in pbx.cli(f"dialplan show {number}@agents"), number
    for number in ("+493417100002", "03417100002"):
        out = pbx.cli(f"dialplan show {number}@agents")
        assert "There is no existence of" in out, out


@pytest.mark.asterisk
@pytest.mark.timeout(60)
def test_a_desk_phone_cannot_dial_around_the_list(pbx: Pbx) -> None:
    """1001 dials an external number from the phone itself: Asterisk authenticates
    it, then answers 404 (no such extension in `agents`) and dials nothing."""
    prefix, outer, inner = _sipp_prefix()
    tag = f"{os.getpid()}-{free_udp_port()}"
    shutil.copy(SCENARIO, outer / f"desk-{tag}.xml")
    done = subprocess.run(
        [*prefix, f"127.0.0.1:{pbx.sip_port}", "-sf", str(inner / f"desk-{tag}.xml"), "-s", "+493417100002",
         "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mi", "127.0.0.1", "-mp", str(free_udp_port()),
         "-m", "1", "-key", "agent", "1001", "-au", "1001", "-ap", pbx.sip_password("1001"),
         "-nostdin", "-timeout", "30s", "-timeout_error"],
        capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.asterisk
@pytest.mark.timeout(120)
def test_the_console_cannot_dial_or_transfer_off_the_list(pbx: Pbx, module_database_url: str,
                                                          tmp_path: Path) -> None:
    with db_sessions(module_database_url) as db:
        with db.begin() as s:
            s.query(User).filter((User.username == "tina") | (User.endpoint == "PJSIP/1001")).delete()
        UserService(db).add("tina", "allow-list-pass", Role.AGENT, "PJSIP/1001")
    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    with pbx.phone("1001", answer_after=0.5), \
            serve(pbx, module_database_url, port, secrets.token_urlsafe(24), tmp_path / "serve.log"), \
            httpx.Client(base_url=base, headers={"Origin": base}, timeout=30) as http:
        me = http.post("/api/session", json={"username": "tina", "password": "allow-list-pass"}).json()
        csrf = {"X-CSRF-Token": me["csrf_token"]}
        dial = http.post("/api/agent/dial", json={"number": EXTERNAL}, headers=csrf)
        assert dial.status_code == 422 and "dial allow-list" in dial.json()["detail"], dial.text
        caller = "+49 341 7100097"  # unique in the session: the tap's wait_for also reads earlier events
        call = pbx.place_call(caller, name="Allow-list", duration=4)
        assert isinstance(call, subprocess.Popen)
        connect = pbx.tap.wait_for(lambda e: e.get("Event") == "AgentConnect" and e.get("CallerIDNum") == caller)
        linkedid = connect["Linkedid"]
        moves: list[httpx.Response] = []

        def transfer_checked() -> bool:
            """409 until `hotline serve` has seen the answer too (its own AMI link)."""
            moves.append(http.post(f"/api/calls/{linkedid}/transfer", json={"target": EXTERNAL}, headers=csrf))
            return moves[-1].status_code != 409

        poll(transfer_checked, timeout=10)
        assert moves[-1].status_code == 422 and "dial allow-list" in moves[-1].json()["detail"], moves[-1].text
        call.wait(timeout=40)
        pbx.tap.wait_for(lambda e: e.get("Event") == "Hangup" and e.get("Linkedid") == linkedid)
    # AMI events arrive in order: nothing was dialled for this call before it ended
    assert not [e for e in pbx.tap.events if e.get("Event") == "BlindTransfer"
                and linkedid in (e.get("TransfereeLinkedid"), e.get("TransfererLinkedid"))]
    assert not [e for e in pbx.tap.events if e.get("Event") == "OriginateResponse"
                and e.get("Exten", "").startswith("+49341")]


@pytest.mark.parametrize(("spec", "external"), [("10XX,5555", False), ("10XX,0[1-9]X.", True), ("+49X.", True),
                                                ("[0-2]X", True), ("[1-9]X", False), ("X.", True), ("", False)])
def test_reaches_external_when_a_pattern_can_start_with_0_or_plus(spec: str, external: bool) -> None:
    assert DialAllowList.parse(spec).reaches_external() is external
