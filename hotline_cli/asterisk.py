"""A private Asterisk on loopback: render asterisk-config/, start, stop, status.

Layer: edge (subprocess, sockets). Each instance has its own folder (config,
run, log, spool, astdb) inside the root, its own AMI and SIP ports, so test
instances and `hotline up` can run side by side. `stop` stops only the
Asterisk whose pid file this instance wrote. Every agent's endpoint has its own
SIP password, and the rendered config (it holds them and the AMI secret) is
readable by its owner only (0600, in a 0700 folder).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from cti.dial_allow import DEFAULT_DIAL_ALLOW, DialAllowList
from hotline_cli import pbx_root, prompts
from hotline_cli.site_config import SitePeer, site_values
from hotline_cli.state import load_or_create_secret, state_dir, write_private
from tickets.service_calendar import parse_region
from tickets.sla import DAYS, ServiceHours, zone_for

CONFIG_SRC = Path(__file__).resolve().parent.parent / "asterisk-config"
AMI_USERNAME = "hotline"
AGENTS = tuple(str(n) for n in range(1001, 1011))
# what a secret may hold: it is written into .conf files, where `;` starts a comment
_SECRET = re.compile(r"[A-Za-z0-9_.~+/=-]{8,128}")
_PLACEHOLDER = re.compile(r"@[A-Z][A-Z0-9_]*@")


@dataclass
class PbxConfig:
    name: str
    ami_port: int = 5038
    sip_port: int = 5060
    rtp_start: int = 20000
    rtp_end: int = 20999
    trunk_peer_port: int = 5070
    ami_secret: str = ""
    agent_passwords: dict[str, str] = field(default_factory=dict)  # extension -> its own SIP password
    dial_allow: str = DEFAULT_DIAL_ALLOW  # HOTLINE_DIAL_ALLOW, rendered into the `agents` context
    service_hours: str = "*"  # GotoIfTime spec of the first window (the global SERVICE_HOURS)
    service_hours_more: tuple[str, ...] = ()  # the other windows' specs
    closed_days: tuple[str, ...] = ()  # public holidays as GotoIfTime specs (closed)
    queue_max_wait: int = 60
    wrapup_time: int = 5
    agi_port: int = 4573  # hotline's FastAGI (HOTLINE_AGI_PORT)
    fax_number: str = "5556"  # the desk's fax number on the trunk (HOTLINE_FAX_NUMBER)
    members: tuple[str, ...] = field(default_factory=tuple)
    site: str = "main"  # HOTLINE_SITE of this Asterisk's bridge
    peers: tuple[SitePeer, ...] = ()  # the other sites: trunks and overflow (none: one site)
    overflow_after: int = 10  # with peers: seconds in the queue before trying them again


class PrivateAsterisk:
    """One Asterisk instance running in the sid root (or a system Asterisk)."""

    def __init__(self, config: PbxConfig) -> None:
        _check_secrets(config)
        DialAllowList.parse(config.dial_allow)  # a bad pattern: ValueError now, not at render
        self.config = config
        self.system = shutil.which("asterisk") is not None and not os.environ.get(
            "HOTLINE_ASTERISK_ROOT"
        )
        self.root = Path("/") if self.system else pbx_root.root_dir()
        # path as Asterisk sees it (inside the root) and as we see it
        self.inner = Path("/var/lib/hotline") / config.name
        self.outer = self.root / self.inner.relative_to("/")
        self.conf_file = self.inner / "etc" / "asterisk.conf"  # as Asterisk sees it (-C)
        self.pid_file = self.outer / "run" / "asterisk.pid"
        # the fax number's faxes (HOTLINE_FAX_SPOOL) and the queue_log (HOTLINE_QUEUE_LOG for
        # reconciliation), as seen from the host
        self.fax_spool = self.outer / "spool" / "fax"
        self.queue_log = self.outer / "log" / "queue_log"

    # --- paths -------------------------------------------------------------
    def _cmd(self, *args: str) -> list[str]:
        base = ["asterisk", "-C", str(self.conf_file), *args]
        return base if self.system else ["chroot", str(self.root), *base]

    # --- lifecycle ---------------------------------------------------------
    def start(self, timeout: float = 30.0) -> None:
        if not self.system:
            pbx_root.ensure_root()
            pbx_root.ensure_proc(self.root)
        if self.running():
            self.wait_ami(timeout)
            return
        self.render()
        try:  # the German and English prompts, made here once (cached by text)
            prompts.install(self.root)
        except prompts.PromptError as exc:
            raise pbx_root.PbxSetupError(str(exc)) from exc
        proc = subprocess.run(self._cmd(), capture_output=True, text=True)
        if proc.returncode != 0:
            raise pbx_root.PbxSetupError(f"asterisk did not start: {proc.stderr.strip()}")
        self.wait_ami(timeout)
        self._add_members()

    def stop(self, timeout: float = 15.0) -> bool:
        pid = self.pid()
        if pid is None or not _alive(pid):
            return False
        subprocess.run(self._cmd("-rx", "core stop now"), capture_output=True, timeout=timeout)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        return True

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.pid()
        return pid is not None and _alive(pid)

    def cli(self, command: str, timeout: float = 10.0) -> str:
        proc = subprocess.run(self._cmd("-rx", command), capture_output=True, text=True,
                              timeout=timeout)
        return proc.stdout

    # --- config ------------------------------------------------------------
    def render(self) -> None:
        etc = self.outer / "etc"
        for sub in ("etc", "run", "log", "spool", "spool/fax", "db"):
            (self.outer / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(etc, 0o700)
        values = self._values()
        for src in CONFIG_SRC.glob("*.conf"):
            text = src.read_text(encoding="utf-8")
            for key, value in values.items():
                text = text.replace(f"@{key}@", value)
            if left := _unfilled(text):
                raise pbx_root.PbxSetupError(f"{src.name}: no value for {', '.join(left)}")
            # 0600 for every file: pjsip.conf and manager.conf hold secrets, and
            # Asterisk runs as the user who renders them
            write_private(etc / src.name, text)
        sipp = CONFIG_SRC / "sipp"
        if sipp.is_dir():
            shutil.copytree(sipp, self.outer / "sipp", dirs_exist_ok=True)

    def _values(self) -> dict[str, str]:
        """What each @PLACEHOLDER@ in asterisk-config/ becomes for this instance."""
        c = self.config
        allow = DialAllowList.parse(c.dial_allow)
        lines = [f"exten => {p},1,Goto(agents-dial,${{EXTEN}},1)" for p in allow.dialplan_patterns()]
        return {
            "CONF_DIR": str(self.inner / "etc"), "RUN_DIR": str(self.inner),
            "MOD_DIR": _module_dir(self.root), "AMI_PORT": str(c.ami_port),
            "AMI_USERNAME": AMI_USERNAME, "AMI_SECRET": c.ami_secret,
            "SIP_PORT": str(c.sip_port), "RTP_START": str(c.rtp_start),
            "RTP_END": str(c.rtp_end), "TRUNK_PEER_PORT": str(c.trunk_peer_port),
            "SERVICE_HOURS": c.service_hours or "*",
            "SERVICE_HOURS_MORE": _lines("open", c.service_hours_more, "; no further service-hours windows"),
            "HOLIDAYS": _lines("closed", c.closed_days, "; no public holidays (HOTLINE_HOLIDAYS unset)"),
            "QUEUE_MAX_WAIT": str(c.queue_max_wait), "WRAPUP_TIME": str(c.wrapup_time),
            "AGI_PORT": str(int(c.agi_port)),
            "FAX_NUMBER": _fax_number(c.fax_number), "FAX_SPOOL": str(self.inner / "spool" / "fax"),
            "DIAL_ALLOW": "\n".join(lines) or "; the dial allow-list is empty: agents dial nothing",
            **{f"SIP_PASSWORD_{agent}": c.agent_passwords[agent] for agent in AGENTS},
            **site_values(c.site, c.peers, c.overflow_after),
        }

    def _add_members(self, timeout: float = 10.0) -> None:
        """Log the configured agents into the queue (dynamic members, as QueueAdd would)."""
        for agent in self.config.members:
            command = (f"queue add member PJSIP/{agent} to hotline penalty 0 as agent{agent} "
                       f"state_interface PJSIP/{agent}")
            deadline = time.monotonic() + timeout
            # right after boot app_queue may not have answered the remote console yet
            while "Added interface" not in (out := self.cli(command)) and "Already" not in out:
                if time.monotonic() > deadline:
                    raise pbx_root.PbxSetupError(f"could not add member {agent}: {out.strip()}")
                time.sleep(0.2)

    def wait_ami(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                if ami_login_ok(self.config.ami_port, AMI_USERNAME, self.config.ami_secret):
                    return
                last = "login refused"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise pbx_root.PbxSetupError(f"AMI on 127.0.0.1:{self.config.ami_port} not up: {last}")


_SPEC = re.compile(r"[0-9a-z:*,-]{1,40}(?:,[A-Za-z0-9_/+-]{1,40})?")


def _lines(label: str, specs: tuple[str, ...], none: str) -> str:
    """Dialplan lines ` same => n,GotoIfTime(spec?label)`, each spec checked first."""
    for spec in specs:
        if not _SPEC.fullmatch(spec):
            raise ValueError(f"not a GotoIfTime spec: {spec!r}")
    return "\n".join(f" same => n,GotoIfTime({spec}?{label})" for spec in specs) or none


def _fax_number(number: str) -> str:
    if not re.fullmatch(r"\+?[0-9]{1,20}", number):
        raise ValueError(f"HOTLINE_FAX_NUMBER must be digits (a leading + allowed), not {number!r}")
    return number


def _check_secrets(config: PbxConfig) -> None:
    """No defaults, one password per agent, none shared, each safe to write into a .conf."""
    missing = [a for a in AGENTS if not config.agent_passwords.get(a)]
    if not config.ami_secret or missing:
        raise ValueError("PbxConfig needs ami_secret and a SIP password for every agent "
                         f"(no defaults); missing: {', '.join(missing) or 'ami_secret'}")
    chosen = [config.agent_passwords[a] for a in AGENTS]
    if len(set(chosen)) != len(chosen):
        raise ValueError("two agents share a SIP password: each endpoint needs its own")
    if not all(_SECRET.fullmatch(s) for s in (config.ami_secret, *chosen)):
        raise ValueError("a secret holds characters a .conf file would misread "
                         "(allowed: 8-128 of A-Z a-z 0-9 _ . ~ + / = -)")


def _unfilled(text: str) -> list[str]:
    """@PLACEHOLDER@s left outside comments (`;` to the end of the line)."""
    return sorted({m for line in text.splitlines() for m in _PLACEHOLDER.findall(line.split(";", 1)[0])})


def new_agent_passwords() -> dict[str, str]:
    """A fresh SIP password for every agent (tests, benchmarks: nothing kept)."""
    return {agent: secrets.token_urlsafe(12) for agent in AGENTS}


def ami_login_ok(port: int, username: str, secret: str, timeout: float = 2.0) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            f"Action: Login\r\nActionID: probe\r\nUsername: {username}\r\n"
            f"Secret: {secret}\r\nEvents: off\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data.split(b"\r\n", 1)[-1]:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        sock.sendall(b"Action: Logoff\r\n\r\n")
        return b"Response: Success" in data


def _module_dir(root: Path) -> str:
    candidates = ("usr/lib/x86_64-linux-gnu/asterisk/modules",
                  "usr/lib/aarch64-linux-gnu/asterisk/modules", "usr/lib/asterisk/modules")
    for candidate in candidates:
        if (root / candidate).is_dir():
            return "/" + candidate
    return "/usr/lib/asterisk/modules"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def service_hours_specs(hours: str, timezone: str = "") -> list[str]:
    """HOTLINE_SERVICE_HOURS -> GotoIfTime specs, one per window (days with the same
    hours joined into a range): `mon-fri 07:00-17:00, sat 09:00-12:00` ->
    ['07:00-17:00,mon-fri,*,*', '09:00-12:00,sat,*,*']. Empty means 24/7 (['*']).
    24:00 becomes 23:59 (GotoIfTime's hours end at 23). With `timezone`
    (HOTLINE_TIMEZONE) each spec names it, so Asterisk's clock zone does not matter."""
    parsed = ServiceHours.parse(hours)
    if parsed.always_open:
        return ["*"]
    by_hours: dict[tuple[int, int], list[int]] = {}
    for w in parsed.windows:
        by_hours.setdefault((w.start, w.end), []).append(w.weekday)
    specs = []
    for (start, end), days in by_hours.items():
        for first, last in _runs(sorted(set(days))):
            span = DAYS[first] if first == last else f"{DAYS[first]}-{DAYS[last]}"
            specs.append(f"{_hhmm(start)}-{_hhmm(min(end, 1439))},{span},*,*" + _zone(timezone))
    return specs


def _zone(timezone: str) -> str:
    if not timezone:
        return ""
    zone_for(timezone)  # an unknown zone: ValueError naming it
    return f",{timezone}"


def _runs(days: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for d in days:
        if runs and runs[-1][1] == d - 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def service_hours_to_asterisk(hours: str) -> str:
    """The first window's GotoIfTime spec (the dialplan global SERVICE_HOURS); the
    others are rendered as further GotoIfTime lines (PbxConfig.service_hours_more)."""
    return service_hours_specs(hours)[0]


def holiday_specs(region: str, today: date, days: int = 366, timezone: str = "") -> list[str]:
    """GotoIfTime specs closing the public holidays of the next `days` days (the
    same calendar as the FastAGI route and the SLA clock). GotoIfTime has no year:
    re-render (`hotline asterisk up`) at least once a year."""
    calendar = parse_region(region)
    if calendar is None:
        return []
    return [f"*,*,{d.day},{_MONTHS[d.month - 1]}{_zone(timezone)}" for d in calendar.between(today, days)]


def default_pbx() -> PrivateAsterisk:
    """The instance `hotline up` and `hotline asterisk` manage, secrets kept in the state folder."""
    folder = state_dir()
    tz = os.environ.get("HOTLINE_TIMEZONE", "Europe/Berlin")
    hours = service_hours_specs(os.environ.get("HOTLINE_SERVICE_HOURS", ""), tz)
    return PrivateAsterisk(PbxConfig(
        name="default",
        ami_secret=load_or_create_secret("ami_secret", folder),
        agent_passwords={agent: load_or_create_secret(f"sip_password_{agent}", folder) for agent in AGENTS},
        dial_allow=os.environ.get("HOTLINE_DIAL_ALLOW", DEFAULT_DIAL_ALLOW),
        service_hours=hours[0], service_hours_more=tuple(hours[1:]),
        closed_days=tuple(holiday_specs(os.environ.get("HOTLINE_HOLIDAYS", ""), datetime.now(zone_for(tz)).date(),
                                        timezone=tz)),
        agi_port=int(os.environ.get("HOTLINE_AGI_PORT", "4573")),
        fax_number=os.environ.get("HOTLINE_FAX_NUMBER", "5556"),
        members=AGENTS[:3],
    ))
