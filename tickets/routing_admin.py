"""Routing data an admin edits: focus team, language and VIP flag of organisations
and contacts, focus teams and spoken languages of users.

Layer: service (sync). Values are checked here (the CLI and any route share
it); a change takes effect with the next call (the FastAGI script reads the
database per call) or, for a user's penalty, at their next queue login.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tickets.customers import MAX_TEAM, CustomerError, clean_text
from tickets.models import Contact, Organisation, User
from tickets.routing import LANGUAGES


class RoutingError(ValueError):
    """A value or a name that does not fit; the message says which."""


def clean_team(value: str) -> str:
    try:
        team = clean_text("team", value, MAX_TEAM)
    except CustomerError as exc:
        raise RoutingError(str(exc)) from exc
    if "," in team:
        raise RoutingError("team: no commas (a user's teams are stored comma-separated)")
    return team


def _language(value: str) -> str:
    value = value.strip().lower()
    if value not in LANGUAGES:
        raise RoutingError(f"language {value!r}: one of {', '.join(LANGUAGES)}")
    return value


def spoken(value: str) -> str:
    """'de,en' -> 'de,en' (checked, no repeats, in LANGUAGES order)."""
    got = {_language(x) for x in value.split(",") if x.strip()}
    if not got:
        raise RoutingError("languages: at least one of de, en")
    return ",".join(x for x in LANGUAGES if x in got)


def _apply(row: Organisation | Contact, team: str | None, language: str | None, vip: bool | None) -> dict[str, object]:
    if team is not None:
        row.team = clean_team(team)
    if language is not None:
        row.language = _language(language)
    if vip is not None:
        row.vip = vip
    return {"team": row.team, "language": row.language, "vip": row.vip}


def set_organisation(sessions: sessionmaker[Session], name: str, team: str | None = None,
                     language: str | None = None, vip: bool | None = None) -> dict[str, object]:
    with sessions.begin() as s:
        org = s.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            raise RoutingError(f"no organisation named {name!r}")
        return {"organisation": org.name, **_apply(org, team, language, vip)}


def set_contact(sessions: sessionmaker[Session], contact_id: int, team: str | None = None,
                language: str | None = None, vip: bool | None = None) -> dict[str, object]:
    with sessions.begin() as s:
        contact = s.get(Contact, contact_id)
        if contact is None:
            raise RoutingError(f"no contact {contact_id}")
        return {"contact": contact.name, **_apply(contact, team, language, vip)}


def set_user(sessions: sessionmaker[Session], username: str, teams: tuple[str, ...] | None = None,
             languages: str | None = None) -> dict[str, object]:
    with sessions.begin() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise RoutingError(f"no user {username!r}")
        if teams is not None:
            user.teams = ",".join(clean_team(t) for t in teams if t.strip())
        if languages is not None:
            user.languages = spoken(languages)
        return {"user": user.username, "teams": user.teams, "languages": user.languages}
