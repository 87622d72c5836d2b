"""`hotline routing org|contact|user ...`: the routing data an admin edits.

Layer: edge. Focus teams, languages and VIP flags live in the database (not in
the dialplan): the FastAGI route reads them per call; a user's queue penalty
follows at their next queue login.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_routing_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("routing", help="routing data: organisations', contacts' and users' teams, languages, VIP")
    rsub = p.add_subparsers(dest="routing_what", required=True)
    org = rsub.add_parser("org", help="an organisation's focus team, language, VIP flag")
    org.add_argument("name")
    contact = rsub.add_parser("contact", help="a contact's own focus team, language, VIP flag")
    contact.add_argument("id", type=int)
    for q in (org, contact):
        q.add_argument("--team", help="focus team ('' for none)")
        q.add_argument("--language", choices=("de", "en"))
        q.add_argument("--vip", action=argparse.BooleanOptionalAction, default=None)
    user = rsub.add_parser("user", help="a user's focus teams and the languages they speak with callers")
    user.add_argument("name")
    user.add_argument("--team", action="append", help="focus team (repeatable; replaces the list)")
    user.add_argument("--no-teams", action="store_true", help="no focus team")
    user.add_argument("--languages", help="spoken with callers: de, en or de,en")
    p.set_defaults(func=run_routing)


def run_routing(args: argparse.Namespace) -> int:
    from agent_console.settings import Settings
    from tickets.db import make_engine, session_factory
    from tickets.routing_admin import RoutingError, set_contact, set_organisation, set_user

    engine = make_engine(Settings().database_url)
    sessions = session_factory(engine)
    try:
        if args.routing_what == "org":
            done = set_organisation(sessions, args.name, args.team, args.language, args.vip)
        elif args.routing_what == "contact":
            done = set_contact(sessions, args.id, args.team, args.language, args.vip)
        else:
            teams = () if args.no_teams else tuple(args.team) if args.team else None
            done = set_user(sessions, args.name, teams, args.languages)
    except RoutingError as exc:
        print(f"hotline routing {args.routing_what}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(done, ensure_ascii=False))
    return 0
