"""Build (once) the Debian sid root that carries Asterisk 22 and SIPp.

Layer: edge (subprocess, filesystem). Asterisk is not in Debian 12, so we run
it from a sid root made with mmdebstrap into a cache folder outside the repo.
mmdebstrap's own default mirror is used unless HOTLINE_DEBIAN_MIRROR is set.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = "asterisk,sip-tester,procps"


class PbxSetupError(RuntimeError):
    """Provisioning failed; the message says what is missing and what to do."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hotline"


def root_dir() -> Path:
    return Path(os.environ.get("HOTLINE_ASTERISK_ROOT") or cache_dir() / "sid-root")


def _built(root: Path) -> bool:
    return (root / "usr/sbin/asterisk").exists() and (root / "usr/bin/sipp").exists()


def ensure_root() -> Path:
    """Return the sid root, building it on first use (about 40 s, ~400 MB).
    Two processes asking at once (two test runs, `up` beside `test`) build it once:
    the second waits on a lock file and then finds it built."""
    root = root_dir()
    if _built(root):
        return root
    if os.geteuid() != 0:
        raise PbxSetupError(
            "building the Asterisk root needs root (mmdebstrap and chroot); run as root or sudo"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.with_name(root.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _built(root):
            return root
        _build(root)
    return root


def _build(root: Path) -> None:
    _ensure_mmdebstrap()
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "mmdebstrap", "--variant=apt", f"--include={PACKAGES}",
        # A package mirror kept as a snapshot serves a sid Release file whose
        # Valid-Until has passed; apt would refuse it.
        "--aptopt=Acquire::Check-Valid-Until \"false\"",
        "sid", str(tmp),
    ]
    mirror = os.environ.get("HOTLINE_DEBIAN_MIRROR")
    if mirror:
        cmd.append(mirror)
    print(f"hotline: building the Asterisk root in {root} (once, about a minute)...", file=sys.stderr)
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PbxSetupError(f"mmdebstrap failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    shutil.rmtree(root, ignore_errors=True)  # a half-made root of an older, interrupted build
    tmp.rename(root)
    print(f"hotline: root built in {time.monotonic() - started:.0f} s", file=sys.stderr)


def _ensure_mmdebstrap() -> None:
    if shutil.which("mmdebstrap"):
        return
    if shutil.which("apt-get") is None:
        raise PbxSetupError("mmdebstrap is missing and apt-get is not available to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "mmdebstrap"]):
        if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
            raise PbxSetupError("mmdebstrap is missing and `apt-get install mmdebstrap` failed")


def ensure_proc(root: Path) -> None:
    """Asterisk in the root needs /proc mounted inside it."""
    proc = root / "proc"
    if not os.path.ismount(proc):
        subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)


def release_proc(root: Path) -> None:
    proc = root / "proc"
    if os.path.ismount(proc):
        subprocess.run(["umount", "-l", str(proc)], check=False)
