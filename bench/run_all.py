"""Every benchmark in one run, one after another, added to bench/RESULTS.md.

Run: .venv/bin/python bench/run_all.py [--pg URL] [--soak-minutes 10] [--load-rate 20] [--load-minutes 5]
     [--target-minutes 1] [--sites-rate 20] [--sites-minutes 2] [--quick] [--skip bench_reports.py,soak.py]

Each benchmark prints its own table with what it is compared to (bench_ami puts
our parser beside asterisk-ami and panoramisk on the same bytes; bench_e2e splits
pop latency into Asterisk's part and ours; bench_lookup and bench_writes run on
SQLite and PostgreSQL side by side). This script runs them in sequence (never in
parallel: they would measure each other), echoes their output, and adds it all
to the end of bench/RESULTS.md (or --out) as one section under the machine, the
commit and the command, so the figures in the README come from one run and no
earlier run's figures are overwritten. --quick shrinks every bench for a smoke test (the
figures are then not the ones to quote).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} CPUs ({cpu}){mem}, {system}"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=HERE).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def plan(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    pg = ["--pg", args.pg] if args.pg else []
    q = args.quick
    return [
        ("AMI parsing: ours vs asterisk-ami vs panoramisk (same recorded bytes)",
         ["bench_ami.py", *(["--events", "20000", "--repeat", "1"] if q else [])]),
        ("Caller lookup at 1,000,000 stored numbers",
         ["bench_lookup.py", *(["--numbers", "20000", "--lookups", "1000"] if q else []), *pg]),
        ("Knowledge-base search over 10,000 articles",
         ["bench_kb.py", *(["--articles", "1000", "--searches", "200"] if q else []), *pg]),
        ("FastAGI route decision at 50 requests/s over TCP",
         ["bench_agi.py", *(["--seconds", "5", "--contacts", "5000"] if q else []), *pg]),
        ("Ticket + call-record writes, event-loop lag",
         ["bench_writes.py", *(["--calls", "300"] if q else []), *pg]),
        ("A number that calls all day: its next call's report marks and its pop's history",
         ["bench_busy_number.py", *(["--calls", "2000"] if q else []), *pg]),
        ("1,000 inbound mails in a burst through the SMTP listener",
         ["bench_mail.py", *(["--mails", "100"] if q else []), *pg]),
        ("Reports over a year: 450,000 calls, 600,000 tickets",
         ["bench_reports.py", *(["--scale", "0.02", "--repeat", "2"] if q else ["--repeat", "3"]), *pg]),
        ("Customer CSV import (100,000 rows, 1 % broken)",
         ["bench_import.py", *(["--rows", "5000"] if q else []), *pg]),
        ("Login flood: 200 addresses against a real hotline serve, /api/me and the real user meanwhile",
         ["bench_login_flood.py", *(["--seconds", "10"] if q else [])]),
        ("Screen-pop latency and 1,000-client WebSocket broadcast",
         ["bench_ws.py", *(["--pops", "20", "--calls", "10", "--rounds", "1", "--clients", "50",
                            "--broadcasts", "5"] if q else [])]),
        ("Three saturated AMI streams: three sites' bridges and one web-only instance (issue 15)",
         ["bench_streams.py", *(["--events", "3000", "--quiet", "15"] if q else []), "--pg", args.pg]),
        ("End to end with real Asterisk and SIPp at rising call rates",
         ["bench_e2e.py", *(["--rates", "1,5", "--seconds", "3"] if q else [])]),
        (f"Soak: {args.soak_minutes:g} minutes, 200 WebSocket clients",
         ["soak.py", "--minutes", str(0.5 if q else args.soak_minutes)]),
        (f"Sustained load: {args.load_rate:g} calls/s for {args.load_minutes:g} min, 200 agents (SIPp UAS)",
         ["bench_load.py", "--rate", str(5 if q else args.load_rate), "--minutes",
          str(0.5 if q else args.load_minutes)]),
        (f"Sustained load at the target: 50 calls/s for {args.target_minutes:g} min, 200 agents (SIPp UAS)",
         ["bench_load.py", "--rate", "50", "--minutes", str(0.25 if q else args.target_minutes)]),
        (f"Three sites: {args.sites_rate:g} calls/s each for {args.sites_minutes:g} min, 60 agents per site "
         "(SIPp UAS), one web-only instance",
         ["bench_sites.py", "--rate", str(2 if q else args.sites_rate), "--minutes",
          str(0.5 if q else args.sites_minutes), "--pg", args.pg]),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL URL for the database benches ('' to skip)")
    ap.add_argument("--soak-minutes", type=float, default=10)
    ap.add_argument("--load-rate", type=float, default=20, help="calls/s of the sustained load run (what holds here)")
    ap.add_argument("--load-minutes", type=float, default=5)
    ap.add_argument("--target-minutes", type=float, default=1,
                    help="minutes at 50 calls/s (the target rate; 5 for the full 15,000 calls)")
    ap.add_argument("--sites-rate", type=float, default=20, help="calls/s at each of bench_sites' three sites")
    ap.add_argument("--sites-minutes", type=float, default=2)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not figures to quote")
    ap.add_argument("--skip", default="",
                    help="comma-separated bench files to leave out (e.g. bench_reports.py; bench_load.py is both "
                         "load runs): each skipped one is named in the results, so nothing is left out unsaid")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="the run is added to the end of this file")
    args = ap.parse_args()
    benches = plan(args)
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    unknown = skip - {cmd[0] for _, cmd in benches}
    if unknown:
        ap.error(f"--skip: no such bench in the plan: {', '.join(sorted(unknown))}")
    command = "python bench/run_all.py " + " ".join(sys.argv[1:])
    parts = [f"\n## `bench/run_all.py` run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit()}\n\n"
             f"Machine: {machine()}  \nCommand: `.venv/bin/{command.strip()}`\n"]
    failed = 0
    for title, cmd in benches:
        if cmd[0] in skip:
            print(f"\n=== {title}: skipped (--skip)", flush=True)
            parts.append(f"\n### {title} — skipped (--skip)\n")
            continue
        print(f"\n=== {title}: {' '.join(cmd)}", flush=True)
        start = time.monotonic()
        proc = subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], capture_output=True, text=True,
                              cwd=HERE.parent)
        took = time.monotonic() - start
        out = proc.stdout + (f"\n[stderr]\n{proc.stderr[-3000:]}" if proc.returncode else "")
        print(out, flush=True)
        failed += proc.returncode != 0
        status = "" if proc.returncode == 0 else f" — FAILED (exit {proc.returncode})"
        parts.append(f"\n### {title}{status}\n\n`{' '.join(['bench/' + cmd[0], *cmd[1:]])}` ({took:.0f} s)\n\n"
                     f"```\n{out.rstrip()}\n```\n")
    with args.out.open("a") as out:  # added: the file's earlier runs stay
        out.write("".join(parts))
    print(f"\nadded to the end of {args.out}; {failed} bench(es) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
