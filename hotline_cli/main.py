"""The `hotline` command line: one argparse dispatcher over small command modules.

Layer: edge. Each command module exports `add_<name>_parser(subparsers)` which
sets `func=` on its parser; this module only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence

# (module, function) pairs that add sub-commands; imported lazily so that a
# broken optional piece names itself instead of breaking every command.
_COMMANDS: tuple[tuple[str, str], ...] = (
    ("hotline_cli.up", "add_up_parser"),
    ("hotline_cli.serve", "add_serve_parser"),
    ("hotline_cli.sites", "add_asterisk_parser"),
    ("hotline_cli.phones", "add_call_parser"),
    ("hotline_cli.softphone", "add_phone_parser"),
    ("hotline_cli.customers", "add_customers_parser"),
    ("hotline_cli.users", "add_users_parser"),
    ("hotline_cli.routing", "add_routing_parser"),
    ("hotline_cli.levels", "add_levels_parser"),
    ("hotline_cli.db", "add_db_parser"),
    ("hotline_cli.demo", "add_demo_parser"),
    ("hotline_cli.mail_sink", "add_mail_sink_parser"),
    ("hotline_cli.history", "add_history_parser"),
    ("hotline_cli.reports", "add_reports_parser"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline", description="Help-desk hotline on Asterisk: CTI bridge, screen pops, tickets."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, func_name in _COMMANDS:
        if importlib.util.find_spec(module_name) is None:
            continue  # a command module not installed in this build
        module = importlib.import_module(module_name)
        getattr(module, func_name)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # Alembic narrates every plugin it loads at INFO
        logging.getLogger("alembic").setLevel(logging.WARNING)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        result = func(args)
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
