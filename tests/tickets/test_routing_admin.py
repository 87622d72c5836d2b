"""An admin edits routing data: teams, languages, VIP flags (checked), and a user's
queue penalty follows from them."""

from __future__ import annotations

import pytest

from cti import actions
from tests.db_fixture import Sessions
from tickets.models import Contact, Organisation, Role
from tickets.routing import member_penalty
from tickets.routing_admin import RoutingError, set_contact, set_organisation, set_user
from tickets.users import UserService


def test_organisation_and_contact(sessions: Sessions) -> None:
    with sessions.begin() as s:
        org = Organisation(name="Nordwerke", team="", language="de")
        s.add(org)
        s.flush()
        c = Contact(name="Werner", organisation_id=org.id)
        s.add(c)
        s.flush()
        contact_id = c.id
    assert set_organisation(sessions, "Nordwerke", team=" Werke ", vip=True) == {
        "organisation": "Nordwerke", "team": "Werke", "language": "de", "vip": True}
    assert set_contact(sessions, contact_id, language="EN", vip=False) == {
        "contact": "Werner", "team": "", "language": "en", "vip": False}
    for bad in (lambda: set_organisation(sessions, "Nope", vip=True),
                lambda: set_contact(sessions, 999_999, vip=True),
                lambda: set_organisation(sessions, "Nordwerke", language="fr"),
                lambda: set_organisation(sessions, "Nordwerke", team="a\nb"),
                lambda: set_organisation(sessions, "Nordwerke", team="a,b"),
                lambda: set_organisation(sessions, "Nordwerke", team="x" * 101)):
        with pytest.raises(RoutingError):
            bad()


def test_user_teams_and_languages_make_the_queue_penalty(sessions: Sessions) -> None:
    users = UserService(sessions)
    users.add("wera", "a-long-password-1", Role.AGENT, "PJSIP/1009")
    assert set_user(sessions, "wera", teams=("Werke",), languages="en, de,en") == {
        "user": "wera", "teams": "Werke", "languages": "de,en"}
    view = users.authenticate("wera", "a-long-password-1")
    assert view is not None and view.teams == ("Werke",) and view.languages == ("de", "en")
    penalty = member_penalty(view.teams, view.languages, ("Kommunen", "Werke"))
    assert penalty == 22
    action = actions.queue_add("PJSIP/1009", "hotline", "wera", penalty)
    assert action.fields["Penalty"] == "22"
    with pytest.raises(ValueError):
        actions.queue_add("PJSIP/1009", "hotline", "wera", -1)
    with pytest.raises(RoutingError):
        set_user(sessions, "wera", languages="fr")
    with pytest.raises(RoutingError):
        set_user(sessions, "wera", languages=" , ")
    with pytest.raises(RoutingError):
        set_user(sessions, "nobody", teams=())
