"""`hotline serve` as a real process against the test Asterisk and database."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class AmiEndpoint(Protocol):
    """Where a bridge finds its Asterisk: tests.pbx_fixture.Pbx, or a benchmark's fake AMI server."""

    @property
    def ami_port(self) -> int: ...

    @property
    def ami_secret(self) -> str: ...

    @property
    def ami_username(self) -> str: ...

    @property
    def agi_port(self) -> int: ...  # where the bridge's FastAGI server listens (the dialplan looks there)


def children(pid: int) -> list[int]:
    """The process ids whose parent is `pid` (e.g. serve's ticket-writer process)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_port(port: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("hotline serve exited; see its log")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("hotline serve did not listen")


@contextlib.contextmanager
def serve(pbx: AmiEndpoint | None, database_url: str, port: int, secret: str, log: Path,
          **extra: str) -> Iterator[subprocess.Popen[str]]:
    """pbx None: a web app without the AMI bridge (HOTLINE_AMI_ENABLED=false)."""
    ami = ({"HOTLINE_AMI_PORT": str(pbx.ami_port), "HOTLINE_AMI_SECRET": pbx.ami_secret,
            "HOTLINE_AMI_USERNAME": pbx.ami_username, "HOTLINE_AGI_PORT": str(pbx.agi_port)}
           if pbx else {"HOTLINE_AMI_ENABLED": "false"})
    # the caller dialogue (language choice, status line, survey) only where a test asks
    # for it: elsewhere a test caller goes straight to the queue, as before it existed
    env = dict(os.environ, HOTLINE_DATABASE_URL=database_url, HOTLINE_HTTP_PORT=str(port),
               HOTLINE_SESSION_SECRET=secret, **{"HOTLINE_IVR": "false", **ami, **extra})
    with log.open("a") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hotline_cli.main", "serve"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        wait_port(port, proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()  # reaped: a Popen dropped while its process runs is a ResourceWarning (an error here)
