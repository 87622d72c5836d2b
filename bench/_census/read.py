"""Reading bench/_census/sitecustomize.py's censuses (bench_load.py --census)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def serve_env(folder: Path) -> dict[str, str]:
    """The environment that makes `hotline serve` answer SIGUSR1 with a census into `folder`."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "HOTLINE_BENCH_CENSUS": str(folder)}


def take(pid: int, folder: Path, n: int, timeout: float = 30.0) -> dict[str, Any]:
    """Census number `n` of process `pid` (signalled now), once it is written."""
    os.kill(pid, signal.SIGUSR1)
    path, deadline = folder / f"census-{n}.json", time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {path.name} from pid {pid} within {timeout:.0f} s")
        time.sleep(0.05)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def growth(first: dict[str, Any], last: dict[str, Any], calls: int, top: int = 12) -> list[str]:
    """Lines: the types that grew most between two censuses, per call in between, and the
    big containers of the last one with their length in the first."""
    a, b = first["counts"], last["counts"]
    grew = sorted(((b.get(k, 0) - a.get(k, 0), k) for k in set(a) | set(b)), reverse=True)
    lines = [f"objects tracked by the collector: {sum(a.values()):,} -> {sum(b.values()):,} over {calls:,} calls"]
    lines += [f"  {n:>+9,} {k} ({a.get(k, 0):,} -> {b.get(k, 0):,}; {n / max(calls, 1):.2f} a call)"
              for n, k in grew[:top] if n > 0]
    sa, sb = first.get("shapes", {}), last.get("shapes", {})
    shapes = sorted(((sb.get(k, 0) - sa.get(k, 0), k) for k in set(sa) | set(sb)), reverse=True)
    lines.append("dicts and lists that grew most, by shape:")
    lines += [f"  {n:>+9,} {k} ({sa.get(k, 0):,} -> {sb.get(k, 0):,})" for n, k in shapes[:top] if n > 0]
    lines.append("containers of more than 500 items at the end (length at the first census):")
    lines += [f"  {kind} (was {first['big'].get(ident, '-')})" for ident, kind in sorted(last["big"].items())]
    return lines
