"""`hotline reports rebuild` and `hotline reports catch-up`: the report aggregates
(tickets.report_agg_*).

Layer: edge. `rebuild` recomputes every aggregate from the raw rows with the
configured rules (time zone, SL threshold, short abandon, FCR days): needed after
changing one of them, since reports read raw rows (slowly) while the aggregates
hold other rules. `catch-up` re-aggregates the hours writes marked dirty (reports
and `hotline serve` do this on their own; useful after a bulk import).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from agent_console.settings import Settings


def add_reports_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("reports", help="reports: the pre-aggregated figures behind /reports")
    rsub = p.add_subparsers(dest="reports_action", required=True)
    rsub.add_parser("rebuild", help="recompute every aggregate from the raw rows").set_defaults(func=run_rebuild)
    rsub.add_parser("catch-up", help="re-aggregate the hours marked dirty").set_defaults(func=run_catch_up)


def catch_up_all(sessions: sessionmaker[Session], settings: Settings) -> int:
    from agent_console.http_reports import settings_rules
    from tickets.report_agg_store import catch_up

    rules, hours = settings_rules(settings), 0
    while cleared := catch_up(sessions, rules, settings.timezone, datetime.now(UTC)):
        hours += cleared
    return hours


def _run(action: str, args: argparse.Namespace) -> int:
    from agent_console.http_reports import settings_rules
    from hotline_cli.with_db import with_database
    from tickets.report_agg_store import rebuild

    def work(settings: Settings, sessions: sessionmaker[Session]) -> None:
        started = time.perf_counter()
        if action == "rebuild":
            with sessions.begin() as s:
                done = rebuild(s, settings_rules(settings), settings.timezone, datetime.now(UTC))
            print(f"report aggregates rebuilt: {done} days in {time.perf_counter() - started:.1f} s")
        else:
            print(f"report aggregates: {catch_up_all(sessions, settings)} dirty hours re-aggregated")

    return with_database(f"hotline reports {action}", work)


def run_rebuild(args: argparse.Namespace) -> int:
    return _run("rebuild", args)


def run_catch_up(args: argparse.Namespace) -> int:
    return _run("catch-up", args)
