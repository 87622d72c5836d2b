"""The `hotline` command line. Sub-commands are added as modules land."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("hotline: not wired yet", file=sys.stderr)
    return 2
