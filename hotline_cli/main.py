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

# (module, function, the commands it adds); imported lazily so that a broken optional
# piece names itself instead of breaking every command, and a command imports only its
# own module (every `hotline` process pays ~1 s of imports less than with all of them).
_COMMANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("hotline_cli.up", "add_up_parser", ("up",)),
    ("hotline_cli.serve", "add_serve_parser", ("serve",)),
    ("hotline_cli.sites", "add_asterisk_parser", ("asterisk",)),
    ("hotline_cli.phones", "add_call_parser", ("call",)),
    ("hotline_cli.softphone", "add_phone_parser", ("phone",)),
    ("hotline_cli.customers", "add_customers_parser", ("customers",)),
    ("hotline_cli.users", "add_users_parser", ("users",)),
    ("hotline_cli.routing", "add_routing_parser", ("routing",)),
    ("hotline_cli.levels", "add_levels_parser", ("departments", "targets")),
    ("hotline_cli.db", "add_db_parser", ("db",)),
    ("hotline_cli.demo", "add_demo_parser", ("demo",)),
    ("hotline_cli.mail_sink", "add_mail_sink_parser", ("mail-sink",)),
    ("hotline_cli.history", "add_history_parser", ("history",)),
    ("hotline_cli.reports", "add_reports_parser", ("reports",)),
)


def _command_of(argv: Sequence[str]) -> str | None:
    """The command named in `argv` (its first word that is not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; for an `argv` naming a known command, with only that command's module
    imported (help, no command or an unknown one: all of them, so every choice is listed)."""
    parser = argparse.ArgumentParser(
        prog="hotline", description="Help-desk hotline on Asterisk: CTI bridge, screen pops, tickets."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    named = _command_of(argv or ())
    mine = [c for c in _COMMANDS if named in c[2]]
    for module_name, func_name, _names in mine or _COMMANDS:
        if importlib.util.find_spec(module_name) is None:
            continue  # a command module not installed in this build
        module = importlib.import_module(module_name)
        getattr(module, func_name)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
