"""`hotline departments add|members|list` and `hotline targets set|list`: the admin's
departments (2nd/3rd-level work queues) and resolution targets.

Layer: edge. The same checks as the HTTP API (tickets.departments).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_levels_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser("departments", help="departments (work queues) and their members")
    dsub = d.add_subparsers(dest="departments_what", required=True)
    add = dsub.add_parser("add", help="a new department")
    add.add_argument("name")
    add.add_argument("--description", default="")
    add.add_argument("--member", action="append", default=[], help="a username (repeatable)")
    members = dsub.add_parser("members", help="replace a department's members")
    members.add_argument("name")
    members.add_argument("--member", action="append", default=[], help="a username (repeatable; none: empty)")
    dsub.add_parser("list", help="every department with its members")
    d.set_defaults(func=run_departments)
    t = sub.add_parser("targets", help="resolution targets (service hours) per organisation, priority, level")
    tsub = t.add_subparsers(dest="targets_what", required=True)
    st = tsub.add_parser("set", help="store one target (--hours 0: remove it)")
    st.add_argument("--org", help="organisation name (default: the target for everyone else)")
    st.add_argument("--priority", required=True, choices=("critical", "high", "normal", "low"))
    st.add_argument("--level", required=True, type=int, choices=(0, 1, 2, 3), help="0 = the whole ticket")
    st.add_argument("--hours", required=True, type=float)
    tsub.add_parser("list", help="every target")
    t.set_defaults(func=run_targets)


def _run(work: Any) -> int:
    from hotline_cli.with_db import with_database
    from tickets.departments import LevelError

    return with_database("hotline", lambda _settings, sessions: print(
        json.dumps(work(sessions), ensure_ascii=False)), (LevelError,))


def run_departments(args: argparse.Namespace) -> int:
    from tickets.departments import Departments

    def work(sessions: Any) -> Any:
        deps = Departments(sessions)
        if args.departments_what == "add":
            return deps.create(args.name, args.description, args.member)
        if args.departments_what == "members":
            return deps.set_members(deps.department_of_name(args.name), args.member)
        return deps.all(with_members=True)

    return _run(work)


def run_targets(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from tickets.departments import NotFound, Targets
    from tickets.models import Organisation

    def work(sessions: Any) -> Any:
        targets = Targets(sessions)
        if args.targets_what == "list":
            return targets.all()
        org = None
        if args.org:
            with sessions() as s:
                org = s.scalar(select(Organisation.id).where(Organisation.name == args.org))
            if org is None:
                raise NotFound("org", f"no organisation {args.org!r}")
        return targets.set(org, args.priority, args.level, args.hours or None)

    return _run(work)
