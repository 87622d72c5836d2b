"""`hotline users add NAME --role agent|supervisor|admin [--endpoint PJSIP/1001] [--site S --partner P]`
and `hotline users place NAME [--site S] [--partner P]` (where a user and their phone work).

Layer: edge. The password is read from standard input (never from the command
line, where `ps` would show it).
"""

from __future__ import annotations

import argparse
import getpass
import sys


def add_users_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("users", help="users: add an agent, supervisor or admin")
    usub = p.add_subparsers(dest="users_action", required=True)
    add = usub.add_parser("add", help="add a user; the password is read from standard input")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("agent", "supervisor", "admin"))
    add.add_argument("--endpoint", help="the agent's phone, e.g. PJSIP/1001")
    add.add_argument("--display-name", default="")
    add.add_argument("--team", action="append", default=[], help="focus team (repeatable)")
    add.add_argument("--language", default="de", choices=("de", "en"))
    add.add_argument("--site", default="main", help="the site (its Asterisk) the user's phone is at")
    add.add_argument("--partner", default="in-house", help="who staffs the user: in-house or a call centre's name")
    add.set_defaults(func=run_users_add)
    place = usub.add_parser("place", help="move a user to another site and/or partner")
    place.add_argument("name")
    place.add_argument("--site")
    place.add_argument("--partner")
    place.set_defaults(func=run_users_place)


def read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\r\n")


def run_users_add(args: argparse.Namespace) -> int:
    from agent_console.settings import Settings
    from tickets.db import make_engine, session_factory
    from tickets.models import Role
    from tickets.users import UserError, UserService

    password = read_password()
    service = UserService(session_factory(make_engine(Settings().database_url)))
    try:
        user = service.add(args.name, password, Role(args.role), args.endpoint,
                           display_name=args.display_name, teams=tuple(args.team),
                           language=args.language, site=args.site, partner=args.partner)
    except UserError as exc:
        print(f"hotline users add: {exc}", file=sys.stderr)
        return 1
    print(f"user {user.username} ({user.role.value}) added"
          + (f", phone {user.endpoint}" if user.endpoint else "") + f", site {user.site}, {user.partner}")
    return 0


def run_users_place(args: argparse.Namespace) -> int:
    from agent_console.settings import Settings
    from tickets.db import make_engine, session_factory
    from tickets.users import UserError, UserService

    if args.site is None and args.partner is None:
        print("hotline users place: give --site and/or --partner", file=sys.stderr)
        return 2
    service = UserService(session_factory(make_engine(Settings().database_url)))
    try:
        user = service.place(args.name, args.site, args.partner)
    except UserError as exc:
        print(f"hotline users place: {exc}", file=sys.stderr)
        return 1
    print(f"user {user.username}: site {user.site}, {user.partner}")
    return 0
