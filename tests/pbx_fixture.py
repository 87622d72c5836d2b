"""Session fixture: a private Asterisk on free ports, softphones, and an AMI tap.

Layer: test support. Real Asterisk, real SIP (SIPp callers, pyVoIP agents);
nothing here is mocked. Other suites use `pbx` for end-to-end tests.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline_cli.asterisk import AMI_USERNAME, PbxConfig, PrivateAsterisk, new_agent_passwords
from hotline_cli.phones import CallResult, free_udp_port, place_calls
from hotline_cli.sip_unregister import unregister_all


def call_of(e: Event) -> str:
    """The call an event belongs to: its Linkedid, else its agent leg's (an AgentComplete
    sent after the caller's channel is gone carries only the Dest* fields and Uniqueid)."""
    return e.get("Linkedid") or e.get("DestLinkedid", "")


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Event = dict[str, str]


class AmiTap:
    """A raw AMI listener in a thread: keeps every byte and every parsed event."""

    def __init__(self, port: int, secret: str) -> None:
        self.raw = bytearray()
        # (len(raw) after a read, when it arrived): a replay gives each message the time
        # its last byte came, as the bridge did, whatever its own chunks (tests/replay.py)
        self.arrivals: list[tuple[int, datetime]] = []
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self._sock.sendall(
            f"Action: Login\r\nUsername: {AMI_USERNAME}\r\nSecret: {secret}\r\n\r\n".encode()
        )
        self._sock.settimeout(0.5)
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="ami-tap", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buf = b""
        while not self._stop:
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            received = time.perf_counter()
            buf += chunk
            *frames, buf = buf.split(b"\r\n\r\n")
            self._store(chunk, [_parse(f) for f in frames if f.strip()], received)

    def _store(self, chunk: bytes, parsed: list[Event], received: float) -> None:
        """Keep what arrived (a subclass may keep less)."""
        self.raw += chunk
        self.arrivals.append((len(self.raw), datetime.now(UTC)))
        with self._cond:
            self.events.extend(e for e in parsed if "Event" in e)
            self._cond.notify_all()

    def wait_for(self, pred: Callable[[Event], bool], timeout: float = 20.0, since: int = 0) -> Event:
        """The first event matching `pred` (among those from `since`, a mark()), waiting for it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events[since:]:
                    if pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [e.get("Event") for e in self.events[-30:]]
                    raise AssertionError(f"AMI event not seen in {timeout} s; last: {names}")
                self._cond.wait(left)

    def arrived_since(self, offset: int) -> list[tuple[int, datetime]]:
        """`arrivals` from byte `offset` of `raw` on, their ends counted from there."""
        return [(end - offset, at) for end, at in list(self.arrivals) if end > offset]

    def of(self, linkedid: str, name: str) -> list[Event]:
        with self._cond:
            return [e for e in self.events if call_of(e) == linkedid and e["Event"] == name]

    def action(self, name: str, **fields: str) -> None:
        """Send an AMI action (its answer arrives among the events, unparsed)."""
        lines = [f"Action: {name}", *(f"{k}: {v}" for k, v in fields.items())]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self._sock.close()
        self._thread.join(timeout=2)


def _parse(frame: bytes) -> Event:
    out: Event = {}
    for line in frame.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep and key not in out:
            out[key] = value
    return out


@dataclass
class Pbx:
    asterisk: PrivateAsterisk
    tap: AmiTap
    calls: list[subprocess.Popen[str]] = field(default_factory=list)  # background SIPp callers

    ami_username: str = AMI_USERNAME
    # this Asterisk's AMI, FastAGI (where its dialplan looks for hotline's; nothing listens
    # unless a test does) and SIP addresses: fixed for as long as it runs
    ami_port: int = field(init=False)
    ami_secret: str = field(init=False)
    agi_port: int = field(init=False)
    sip_port: int = field(init=False)

    def __post_init__(self) -> None:
        config = self.asterisk.config
        self.ami_port, self.ami_secret = config.ami_port, config.ami_secret
        self.agi_port, self.sip_port = config.agi_port, config.sip_port

    def cli(self, command: str) -> str:
        return self.asterisk.cli(command)

    def place_call(self, number: str, name: str = "", duration: float = 5.0,
                   background: bool = True, dtmf: str = "") -> CallResult | subprocess.Popen[str]:
        call = place_calls(number, name=name, sip_port=self.sip_port, duration=duration,
                           background=background, dtmf=dtmf)
        if isinstance(call, subprocess.Popen):
            self.calls.append(call)
        return call

    def end_calls(self) -> None:
        """Reap the background callers: kill one a test left running (it failed before
        waiting), wait, close the pipe. No SIPp outlives its test or leaks its pipe."""
        for call in self.calls:
            if call.poll() is None:
                call.kill()
            call.wait()
            if call.stdout is not None:
                call.stdout.close()
        self.calls.clear()

    def sip_password(self, agent: str) -> str:
        """That agent's own SIP password (every endpoint has a different one)."""
        return self.asterisk.config.agent_passwords[agent]

    def contacts(self, agent: str) -> list[str]:
        """The contacts Asterisk holds for `agent`'s AOR (the phones it would ring)."""
        return re.findall(rf"^\s*Contact:\s+{agent}/(\S+)", self.cli(f"pjsip show aor {agent}"), re.MULTILINE)

    def _wait_contacts(self, agent: str, present: bool, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while bool(self.contacts(agent)) is not present:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    @contextlib.contextmanager
    def phone(self, agent: str, answer_after: float = 1.0,
              hangup_after: float = 0.0) -> Iterator[subprocess.Popen[str]]:
        """A registered softphone of `agent`. Entered: Asterisk holds its contact. Left:
        Asterisk holds no contact of `agent` any more, so no later test's call rings a
        phone nobody runs (the next phone of the agent registers on an empty AOR)."""
        proc = self._start_phone(agent, answer_after, hangup_after)
        with proc:  # on leaving: the pipes closed and the process waited for
            try:
                assert self._wait_contacts(agent, True, 10), f"phone {agent}: no contact in Asterisk"
                yield proc
            finally:
                self._stop_phone(proc)
        # the phone removes its contact before it exits (hotline_cli.sip_unregister); one
        # killed because it did not exit in time did not: remove it the same way here
        if self.contacts(agent):
            unregister_all(agent, self.sip_password(agent), port=self.sip_port)
        assert self._wait_contacts(agent, False, 5), f"phone {agent}: contact stays {self.contacts(agent)}"

    def _start_phone(self, agent: str, answer_after: float, hangup_after: float) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hotline_cli.main", "phone", "--agent", agent,
             "--sip-port", str(self.sip_port), "--answer-after", str(answer_after),
             "--hangup-after", str(hangup_after)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert proc.stdin and proc.stdout
        proc.stdin.write(self.sip_password(agent) + "\n")
        proc.stdin.close()
        line = proc.stdout.readline()
        if "registered" not in line:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            raise AssertionError(f"phone {agent} did not register: {line!r}")
        return proc

    @staticmethod
    def _stop_phone(proc: subprocess.Popen[str]) -> None:
        proc.terminate()
        try:  # it hangs up, deregisters, and removes its contact (up to 3 s) first
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


_started = itertools.count()


def start_pbx(name: str, **overrides: object) -> PrivateAsterisk:
    # each instance of this process gets its own RTP range (two may run at once)
    rtp = 20000 + ((os.getpid() % 100) * 4 + next(_started) % 4) * 100
    config = PbxConfig(
        name=name, ami_port=free_tcp_port(), sip_port=free_udp_port(), rtp_start=rtp,
        rtp_end=rtp + 99, trunk_peer_port=free_udp_port(),
        ami_secret=secrets.token_urlsafe(12), agent_passwords=new_agent_passwords(),
        queue_max_wait=8, wrapup_time=1, members=("1001", "1002"), agi_port=free_tcp_port(),
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    pbx = PrivateAsterisk(config)
    pbx.start()
    return pbx


@pytest.fixture(autouse=True)
def end_background_calls(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that used `pbx`: its SIPp callers reaped (Pbx.end_calls)."""
    yield
    if "pbx" in request.fixturenames:
        request.getfixturevalue("pbx").end_calls()


@contextlib.contextmanager
def verbose_log(pbx: Pbx, name: str) -> Iterator[Path]:
    """Asterisk's own log of every dialplan step it executes and every file it plays
    (verbose), into a file of its own for as long as the block runs."""
    inner = f"{pbx.asterisk.inner}/log/{name}-{os.getpid()}.log"
    pbx.cli(f"logger add channel {inner} verbose(3)")
    try:
        yield pbx.asterisk.outer / "log" / f"{name}-{os.getpid()}.log"
    finally:
        pbx.cli(f"logger remove channel {inner}")


@contextlib.contextmanager
def running_pbx(name: str, **overrides: object) -> Iterator[Pbx]:
    """A private Asterisk (start_pbx's settings with `overrides`), booted, with its AMI tap."""
    asterisk = start_pbx(name, **overrides)
    tap = AmiTap(asterisk.config.ami_port, asterisk.config.ami_secret)
    try:
        tap.wait_for(lambda e: e.get("Event") == "FullyBooted", timeout=10)
        yield Pbx(asterisk, tap)
    finally:
        tap.close()
        asterisk.stop()


@pytest.fixture(scope="session")
def pbx() -> Iterator[Pbx]:
    with running_pbx(f"test-{os.getpid()}") as found:
        try:
            yield found
        finally:
            record = os.environ.get("HOTLINE_RECORD_TRANSCRIPT")
            if record:
                Path(record).write_bytes(bytes(found.tap.raw))
