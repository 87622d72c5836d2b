"""`hotline history import queue_log FILE`: a desk's past calls from Asterisk's queue_log.

Layer: edge. The work is tickets.history_import's (the reconcile path's parser);
this prints the counts. Running it again adds nothing twice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotline_cli.file_import import guarded_import


def add_history_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("history", help="history: load past calls for reports")
    hsub = p.add_subparsers(dest="history_action", required=True)
    imp = hsub.add_parser("import", help="import past calls from a file")
    isub = imp.add_subparsers(dest="history_kind", required=True)
    ql = isub.add_parser("queue_log", help="Asterisk's queue_log: every finished queue call becomes a call record")
    ql.add_argument("file", type=Path)
    ql.add_argument("--member", action="append", default=[], metavar="NAME=INTERFACE",
                    help="map queue_log's member name to the agent's interface, e.g. Anna=PJSIP/1001")
    ql.set_defaults(func=run_import_queue_log)


def _members(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, interface = pair.partition("=")
        if not sep or not name or not interface:
            raise ValueError(f"--member {pair!r}: expected NAME=INTERFACE, e.g. Anna=PJSIP/1001")
        out[name] = interface
    return out


def run_import_queue_log(args: argparse.Namespace) -> int:
    from agent_console.settings import Settings
    from hotline_cli.reports import catch_up_all
    from tickets.db import make_engine, session_factory
    from tickets.history_import import ImportCounts, import_queue_log

    try:
        members = _members(args.member)
    except ValueError as exc:
        print(f"hotline history import: {exc}", file=sys.stderr)
        return 2
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        sessions = session_factory(engine)

        def work() -> ImportCounts:
            counts = import_queue_log(sessions, args.file, settings.default_region, members, site=settings.site)
            catch_up_all(sessions, settings)  # the report aggregates of the imported days
            return counts

        counts = guarded_import("hotline history import", args.file, "chunks", work)
    finally:
        engine.dispose()
    if counts is None:
        return 1
    print(f"{counts.read} finished calls read, {counts.added} added, {counts.known} already recorded")
    return 0
