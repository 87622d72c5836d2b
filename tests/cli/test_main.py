"""The `hotline` dispatcher imports only the module of the command it runs (every
`hotline` process, including those the tests start, saves the others' imports), and
still lists every command when none or an unknown one is given."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from hotline_cli.main import build_parser
parser = build_parser(sys.argv[1:])
print(sorted(m for m in sys.modules if m.startswith("hotline_cli.") and m != "hotline_cli.main"))
"""


def imported(*argv: str) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_command_imports_only_its_own_module() -> None:
    assert imported("users", "add", "x") == "['hotline_cli.users']\n"
    assert imported("-v", "targets", "list") == "['hotline_cli.levels']\n"


def test_no_command_or_an_unknown_one_lists_them_all() -> None:
    for argv in ((), ("--help",), ("nosuch",)):
        listed = imported(*argv)
        assert "'hotline_cli.up'" in listed and "'hotline_cli.reports'" in listed, argv
    out = subprocess.run([sys.executable, "-m", "hotline_cli.main", "nosuch"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "'mail-sink'" in out.stderr and "'users'" in out.stderr
