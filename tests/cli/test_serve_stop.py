"""`hotline serve` stopped with SIGTERM (systemd, `kill`, `hotline up` ending) or with a
terminal's Ctrl-C (SIGINT to the whole process group, its worker processes too) shuts
down gracefully and exits with status 0: no "leaked semaphore objects" from its worker
processes' pools (every SIGTERM printed them while uvicorn's re-raised signal ended the
process before the interpreter's own clean-up), no KeyboardInterrupt traceback from each
worker (every Ctrl-C printed three)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hotline_cli.up import stop_server
from tests.pbx_fixture import free_tcp_port
from tests.serve_process import children, wait_port
from tests.waiting import wait_until
from tickets.migrate import upgrade
from tickets.worker_process import NICENESS

WORKERS = 3  # the writer, the report aggregates, the escalation scan: each a process of its own


@pytest.mark.parametrize("to_group", [False, True], ids=["sigterm-to-serve", "ctrl-c-to-the-group"])
def test_a_stop_ends_serve_and_its_worker_processes_cleanly(tmp_path: Path, to_group: bool) -> None:
    database = f"sqlite:///{tmp_path / 'hotline.db'}"
    upgrade(database)
    port, log = free_tcp_port(), tmp_path / "serve.log"
    env = {"HOTLINE_DATABASE_URL": database, "HOTLINE_HTTP_PORT": str(port),
           "HOTLINE_SESSION_SECRET": secrets.token_urlsafe(24), "HOTLINE_AMI_SECRET": secrets.token_urlsafe(12),
           # a bridge with nowhere to connect: it keeps trying, its processes run all the same
           "HOTLINE_AMI_PORT": str(free_tcp_port()), "HOTLINE_AGI_PORT": str(free_tcp_port())}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hotline_cli.main", "serve"], env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_port(port, proc)
        # each worker has started (its first step, tickets.worker_process.detach, lowers its priority)
        wait_until(lambda: sum(_started_worker(pid) for pid in children(proc.pid)) >= WORKERS, timeout=30)
        workers = children(proc.pid)
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), timeout=10)  # none left behind
    text = log.read_text()
    assert "leaked" not in text and "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]


def test_up_waits_for_its_server_to_stop_and_kills_one_that_will_not(capsys: pytest.CaptureFixture[str]) -> None:
    """`hotline up` ending: the server gets SIGTERM and the time to drain before the phones
    and Asterisk go (it once went on at once, the server still shutting down behind it)."""
    drains = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                               "def done(*_): time.sleep(0.5); sys.exit(0)\n"
                               "signal.signal(signal.SIGTERM, done); print('ready', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE)
    stuck = subprocess.Popen([sys.executable, "-c", "import signal, time\n"
                              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                              "print('ready', flush=True); time.sleep(60)"],
                             stdout=subprocess.PIPE)
    for proc in (drains, stuck):
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # its handler is set
    stop_server(drains)
    assert drains.returncode == 0  # waited for, not killed
    stop_server(stuck, timeout=1)
    assert stuck.returncode == -signal.SIGKILL
    assert f"the server (pid {stuck.pid}) did not stop within 1 s; killed it" in capsys.readouterr().err
    for proc in (drains, stuck):
        assert proc.stdout is not None
        proc.stdout.close()


def _started_worker(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        nice = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    except (OSError, ValueError, IndexError):
        return False
    return b"spawn_main" in command and nice == NICENESS
