"""Real phones for demos, tests and benchmarks: SIPp callers into 5555 and
pyVoIP softphones that register as agents.

Layer: edge (subprocess). `hotline call` and `hotline phone` are thin wrappers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from hotline_cli import dtmf as keys
from hotline_cli import pbx_root

SCENARIOS = Path(__file__).resolve().parent.parent / "asterisk-config" / "sipp"


@dataclass(frozen=True)
class CallResult:
    returncode: int
    successful: int
    failed: int
    output: str


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sipp_prefix() -> tuple[list[str], Path, Path]:
    """(command prefix, scratch folder as we see it, the same as sipp sees it)."""
    if shutil.which("sipp") and not os.environ.get("HOTLINE_ASTERISK_ROOT"):
        scratch = Path("/tmp/hotline-sipp")
        scratch.mkdir(exist_ok=True)
        return ["sipp"], scratch, scratch
    root = pbx_root.ensure_root()
    inner = Path("/var/lib/hotline/sipp")
    outer = root / inner.relative_to("/")
    outer.mkdir(parents=True, exist_ok=True)
    return ["chroot", str(root), "sipp"], outer, inner


def _check_text(label: str, value: str) -> str:
    if any(ch in value for ch in "\r\n\0\"\\"):
        raise ValueError(f"{label} must not contain CR, LF, NUL, quote or backslash: {value!r}")
    return value


def place_calls(
    from_number: str, *, name: str = "", sip_port: int = 5060, count: int = 1, rate: float = 1.0,
    duration: float = 10.0, timeout: float | None = None, background: bool = False, dtmf: str = "",
) -> CallResult | subprocess.Popen[str]:
    """Place `count` SIP calls into 5555 at `rate` calls/s, each `duration` s long
    (with `dtmf`, e.g. "1,2,123#": the keys pressed first, then `duration` s more)."""
    _check_text("caller number", from_number)
    _check_text("caller name", name)
    prefix, outer, inner = _sipp_prefix()
    tag = f"{os.getpid()}-{free_udp_port()}"
    pressing = sum(g.wait_ms for g in keys.parse(dtmf)) / 1000 if dtmf else 0.0
    if dtmf:  # the keys' captures beside the scenario (SIPp replays them as RTP)
        xml, captures = keys.scenario((SCENARIOS / "caller_dtmf.xml").read_text(), dtmf, str(inner), f"keys-{tag}")
        for filename, data in captures.items():
            (outer / filename).write_bytes(data)
    else:
        xml = (SCENARIOS / "caller.xml").read_text()
    xml = xml.replace("[duration]", str(int(duration * 1000)))
    (outer / f"caller-{tag}.xml").write_text(xml)
    cmd = [
        *prefix, f"127.0.0.1:{sip_port}", "-sf", str(inner / f"caller-{tag}.xml"), "-s", "5555",
        "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mi", "127.0.0.1",
        "-mp", str(free_udp_port()), "-m", str(count), "-r", str(rate), "-l", str(max(count, 1)),
        # a SIP user part cannot hold spaces or slashes: escape them (RFC 3261
        # escaped chars); Asterisk 22 unescapes and reports the number as given
        "-key", "caller_num", quote(from_number, safe="+-.()*#;=&$,?!~_'"), "-key", "caller_name", name or from_number,
        "-nostdin", "-timeout", f"{int((timeout or duration + count / rate + 30) + pressing)}s",
        "-timeout_error", "-trace_stat", "-stf", str(inner / f"stat-{tag}.csv"),
    ]
    if background:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    ok, failed = _stat_counts(outer / f"stat-{tag}.csv")
    return CallResult(proc.returncode, ok, failed, proc.stdout[-2000:] + proc.stderr[-2000:])


def _stat_counts(path: Path) -> tuple[int, int]:
    try:
        lines = path.read_text().splitlines()
        header, last = lines[0].split(";"), lines[-1].split(";")
        row = dict(zip(header, last, strict=False))
        return int(row.get("SuccessfulCall(C)", 0)), int(row.get("FailedCall(C)", 0))
    except (OSError, IndexError, ValueError):
        return 0, 0


def add_call_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("call", help="place real SIP calls into 5555 (SIPp)")
    p.add_argument("--from", dest="from_number", required=True, help="caller ID number, any format")
    p.add_argument("--name", default="", help="caller name shown to the agent")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--rate", type=float, default=1.0, help="calls per second")
    p.add_argument("--duration", type=float, default=30.0, help="seconds from pickup to hang-up")
    p.add_argument("--sip-port", type=int, default=5060)
    p.add_argument("--dtmf", default="", help='keys to press, groups by commas, e.g. "2" (status) or '
                   '"1,2,123#" (German, status, ticket 123); "4@20": the group 20 s after the previous')
    p.set_defaults(func=run_call)


def run_call(args: argparse.Namespace) -> int:
    try:
        result = place_calls(args.from_number, name=args.name, sip_port=args.sip_port,
                             count=args.count, rate=args.rate, duration=args.duration, dtmf=args.dtmf)
    except (ValueError, pbx_root.PbxSetupError) as exc:
        print(f"hotline call: {exc}", file=sys.stderr)
        return 2
    assert isinstance(result, CallResult)
    print(f"calls: {result.successful} completed, {result.failed} failed")
    if result.returncode != 0 and result.failed:
        print(result.output, file=sys.stderr)
    return 0 if result.failed == 0 else 1
