"""Routing: the pure decision (team band, language, priority, closed, every status),
member penalties, and the facts read from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, text

from tests.db_fixture import Sessions
from tickets.lookup import CustomerLookup
from tickets.models import Contact, Organisation, Phone, PhoneKind, Priority, Ticket, TicketStatus
from tickets.route_facts import _CRITICAL_ORGANISATIONS, caller_facts, critical_organisations
from tickets.routing import (
    OVERFLOW_RULE,
    CallerFacts,
    Reason,
    decide,
    fallback_route,
    languages_reached,
    member_penalty,
    parse_teams,
)

TEAMS = ("Kommunen", "Werke", "International")


@pytest.mark.parametrize(("facts", "reason", "team", "lang", "band"), [
    (CallerFacts("known", team="Werke", language="de"), Reason.TEAM, "Werke", "de", (21, 22)),
    (CallerFacts("known", team="werke", language="en"), Reason.TEAM, "Werke", "en", (22, 23)),
    (CallerFacts("known", team="Kommunen", language="fr"), Reason.TEAM, "Kommunen", "de", (11, 12)),
    (CallerFacts("known", team="Schulen", language="en"), Reason.NO_TEAM, "", "en", None),
    (CallerFacts("known", team="", language="de"), Reason.NO_TEAM, "", "de", None),
    (CallerFacts("unknown"), Reason.UNKNOWN, "", "de", None),
    (CallerFacts("withheld"), Reason.WITHHELD, "", "de", None),
    (CallerFacts("ambiguous"), Reason.AMBIGUOUS, "", "de", None),
    (CallerFacts("garbage"), Reason.UNKNOWN, "", "de", None),
    # not known as one contact, chose in the caller dialogue: the generalists (band 0) who speak it
    (CallerFacts("unknown", language="en", chosen=True), Reason.LANGUAGE, "", "en", (2, 3)),
    (CallerFacts("unknown", language="de", chosen=True), Reason.LANGUAGE, "", "de", (1, 2)),
    (CallerFacts("withheld", language="en", chosen=True), Reason.LANGUAGE, "", "en", (2, 3)),
    (CallerFacts("ambiguous", language="de", chosen=True), Reason.LANGUAGE, "", "de", (1, 2)),
    (CallerFacts("unknown", language="fr", chosen=True), Reason.UNKNOWN, "", "de", None),
    (CallerFacts("known", team="Werke", language="en", chosen=True), Reason.TEAM, "Werke", "en", (22, 23)),
])
def test_decide(facts: CallerFacts, reason: Reason, team: str, lang: str,
                band: tuple[int, int] | None) -> None:
    route = decide(facts, TEAMS)
    assert (route.reason, route.team, route.language) == (reason, team, lang)
    assert (route.min_penalty, route.max_penalty) == (band or (None, None))
    variables = dict(route.variables("hotline"))
    assert variables.get("HOTLINE_QUEUE_RULE") == (OVERFLOW_RULE if band else None)
    assert variables.get("HOTLINE_MAX_PENALTY") == (str(band[1]) if band else None)
    assert variables.get("HOTLINE_TEAM") == (team if band else None)
    assert list(variables)[-1] == "HOTLINE_ROUTED"  # the dialplan trusts only a complete answer


@pytest.mark.parametrize(("vip", "critical", "priority", "why"), [
    (False, False, 0, ""), (True, False, 10, "vip"), (False, True, 10, "critical_ticket"),
    (True, True, 10, "critical_ticket"),
])
def test_priority_bump(vip: bool, critical: bool, priority: int, why: str) -> None:
    route = decide(CallerFacts("known", team="Werke", vip=vip, critical_open=critical), TEAMS)
    assert (route.priority, route.priority_reason) == (priority, why)
    assert dict(route.variables("hotline"))["HOTLINE_PRIORITY"] == str(priority)


def test_closed_wins_and_fallback_is_the_plain_queue() -> None:
    closed = decide(CallerFacts("known", team="Werke", vip=True), TEAMS, open_now=False)
    assert closed.reason is Reason.CLOSED and not closed.open and closed.min_penalty is None
    assert dict(closed.variables("hotline"))["HOTLINE_OPEN"] == "0"
    plain = fallback_route()
    assert plain.reason is Reason.FALLBACK and plain.max_penalty is None and plain.priority == 0


@pytest.mark.parametrize(("teams", "languages", "penalty"), [
    (("Werke",), ("de",), 21), (("Werke",), ("de", "en"), 22), (("werke",), ("en",), 23),
    (("Schulen",), ("de",), 1), ((), ("de",), 1), ((), ("de", "en"), 2), ((), ("en",), 3),
    (("International", "Werke"), ("en",), 23), (("Werke",), (), 21),
])
def test_member_penalty(teams: tuple[str, ...], languages: tuple[str, ...], penalty: int) -> None:
    assert member_penalty(teams, languages, TEAMS) == penalty


def test_every_caller_band_reaches_exactly_the_team_members_who_speak_the_language() -> None:
    for team in TEAMS:
        for lang in ("de", "en"):
            route = decide(CallerFacts("known", team=team, language=lang), TEAMS)
            assert route.min_penalty is not None and route.max_penalty is not None
            for agent_team in (*TEAMS, "none"):
                for spoken in (("de",), ("en",), ("de", "en")):
                    p = member_penalty((agent_team,), spoken, TEAMS)
                    reached = route.min_penalty <= p <= route.max_penalty
                    assert reached == (agent_team == team and lang in spoken), (team, lang, agent_team, spoken)


def test_a_chosen_language_reaches_exactly_the_generalists_who_speak_it() -> None:
    """As a team's band for its contacts: band 0 for a caller hotline does not know."""
    for status in ("unknown", "withheld", "ambiguous"):
        for lang in ("de", "en"):
            route = decide(CallerFacts(status, language=lang, chosen=True, vip=True), TEAMS)
            assert route.reason is Reason.LANGUAGE and route.priority == 10  # a VIP's bump stands
            assert route.min_penalty is not None and route.max_penalty is not None
            assert dict(route.variables("hotline"))["HOTLINE_QUEUE_RULE"] == OVERFLOW_RULE  # then everyone
            for agent_team in (*TEAMS, "none"):
                for spoken in (("de",), ("en",), ("de", "en")):
                    p = member_penalty((agent_team,), spoken, TEAMS)
                    reached = route.min_penalty <= p <= route.max_penalty
                    assert reached == (agent_team == "none" and lang in spoken), (status, lang, agent_team, spoken)
            assert not route.min_penalty <= 0 <= route.max_penalty  # a member logged in without hotline
    unchosen = decide(CallerFacts("unknown", language="en"), TEAMS)
    assert unchosen.reason is Reason.UNKNOWN and unchosen.max_penalty is None  # no choice: every agent


def test_a_known_contact_of_no_focus_team_reaches_the_generalists_who_speak_their_language() -> None:
    """Limited only when such generalists are logged in; the overflow rule lifts it as for a team."""
    english = CallerFacts("known", team="Schulen", language="en", vip=True)  # Schulen: no focus team here
    route = decide(english, TEAMS, generalists={"de", "en"})
    assert (route.reason, route.language, route.min_penalty, route.max_penalty) == (Reason.GENERALISTS, "en", 2, 3)
    assert (route.priority, route.priority_reason) == (10, "vip")
    assert dict(route.variables("hotline"))["HOTLINE_QUEUE_RULE"] == OVERFLOW_RULE
    for spoken, reached in ((("en",), True), (("de", "en"), True), (("de",), False)):
        assert (route.min_penalty <= member_penalty((), spoken, TEAMS) <= route.max_penalty) is reached
    for generalists in ({"de"}, set(), None):  # nobody there speaks it, or not known: every agent
        assert decide(english, TEAMS, generalists=generalists).reason is Reason.NO_TEAM
    no_language = CallerFacts("known", team="", language="")
    assert decide(no_language, TEAMS, generalists={"de", "en"}).reason is Reason.NO_TEAM


def test_languages_reached_by_the_members_logged_in() -> None:
    """From the penalties Asterisk reports: band 0's last digit (1 de, 2 both, 3 en); a
    member at penalty 0 (logged in without hotline) or of a focus team counts for none."""
    assert languages_reached([]) == frozenset()
    assert languages_reached([0, 0]) == frozenset()
    assert languages_reached([1]) == {"de"}
    assert languages_reached([3, 21, 22]) == {"en"}
    assert languages_reached([2]) == {"de", "en"}
    assert languages_reached([1, 3]) == {"de", "en"}
    assert languages_reached([11, 12, 13]) == frozenset()


def test_focus_teams_setting() -> None:
    assert parse_teams(" Kommunen, Werke ,") == ("Kommunen", "Werke")
    assert parse_teams("") == ()
    with pytest.raises(ValueError, match="twice"):
        parse_teams("Werke,werke")


def test_facts_from_the_database(sessions: Sessions) -> None:
    with sessions.begin() as s:
        werke = Organisation(name="Nordwerke", team="Werke", language="de", vip=True)
        intl = Organisation(name="Northwind", team="International", language="en")
        s.add_all([werke, intl])
        s.flush()
        werner = Contact(name="Werner", language="de", organisation_id=werke.id)
        john = Contact(name="John", language="en", team="Werke", organisation_id=intl.id)
        s.add_all([werner, john])
        s.flush()
        s.add_all([
            Phone(raw="0341 71-1", normalized="+49341711", kind=PhoneKind.DIRECT, contact_id=werner.id),
            Phone(raw="+44 1632 960123", normalized="+441632960123", kind=PhoneKind.DIRECT, contact_id=john.id),
            Phone(raw="0341 72-0", normalized="+493417200", kind=PhoneKind.MAIN, organisation_id=intl.id),
            Ticket(number="T-1", subject="down", priority=Priority.CRITICAL, status=TicketStatus.OPEN,
                   contact_id=john.id),
            Ticket(number="T-2", subject="old", priority=Priority.CRITICAL, status=TicketStatus.CLOSED,
                   contact_id=werner.id),
        ])
    lookup = CustomerLookup(sessions)
    werner_facts = caller_facts(lookup.engine, lookup.lookup("+49341711"))
    assert werner_facts == CallerFacts("known", team="Werke", language="de", vip=True, critical_open=False)
    john_facts = caller_facts(lookup.engine, lookup.lookup("+44 1632 960123"))  # own team beats the organisation's
    assert john_facts == CallerFacts("known", team="Werke", language="en", vip=False, critical_open=True)
    org_facts = caller_facts(lookup.engine, lookup.lookup("+493417200"))  # the switchboard: any contact's ticket
    assert org_facts == CallerFacts("known", team="International", language="en", vip=False, critical_open=True)
    assert caller_facts(lookup.engine, lookup.lookup("+4930999")).status == "unknown"
    assert caller_facts(lookup.engine, lookup.lookup("")).status == "withheld"


def test_a_switchboard_caller_is_moved_up_for_any_open_critical_ticket_of_the_organisation(
        sessions: Sessions) -> None:
    """An organisation's number: a contact's open critical ticket, or one filed against the
    organisation itself (a mail from an address no contact has); not another organisation's,
    not a closed one, not a contact's who moved to another organisation."""
    with sessions.begin() as s:
        orgs = [Organisation(name=f"Org {n}", team="Werke") for n in range(3)]
        s.add_all(orgs)
        s.flush()
        staff = [Contact(name=f"C {n}", organisation_id=orgs[n % 3].id) for n in range(30)]
        s.add_all(staff)
        s.flush()
        s.add_all([Phone(raw=f"0341 9{n}-0", normalized=f"+493419{n}0", kind=PhoneKind.MAIN,
                         organisation_id=o.id) for n, o in enumerate(orgs)])
        s.add_all([Ticket(number=f"N-{n}", subject="old", priority=Priority.CRITICAL, status=TicketStatus.CLOSED,
                          contact_id=c.id) for n, c in enumerate(staff)])
        critical = Ticket(number="T-1", subject="down", priority=Priority.CRITICAL, status=TicketStatus.PENDING,
                          contact_id=staff[1].id)  # a contact of Org 1
        s.add_all([critical, Ticket(number="T-2", subject="mail", priority=Priority.CRITICAL,
                                    status=TicketStatus.NEW, organisation_id=orgs[2].id)])
    lookup = CustomerLookup(sessions)

    def moved_up() -> list[bool]:
        """Asked by the statement itself, and (the FastAGI script's way) from the set of
        organisations with an open critical ticket: the same answer."""
        asked = [caller_facts(lookup.engine, lookup.lookup(f"+493419{n}0")) for n in range(3)]
        kept = [caller_facts(lookup.engine, lookup.lookup(f"+493419{n}0"),
                             lambda: critical_organisations(lookup.engine)) for n in range(3)]
        assert asked == kept
        return [facts.critical_open for facts in asked]

    assert moved_up() == [False, True, True]
    with sessions.begin() as s:
        s.get(Contact, staff[1].id).organisation_id = orgs[0].id  # type: ignore[union-attr]
    assert moved_up() == [True, False, True]
    with sessions.begin() as s:
        s.get(Ticket, critical.id).status = TicketStatus.RESOLVED  # type: ignore[union-attr]
    assert moved_up() == [False, False, True]


def test_the_switchboard_check_reads_only_the_open_critical_tickets(sessions: Sessions) -> None:
    """Among thousands of tickets the organisation's check starts from the partial index
    (the priority and status are literals in the statement, as the index's condition)."""
    engine = sessions.kw["bind"]
    with sessions.begin() as s:
        org = Organisation(name="Big", team="Werke")
        s.add(org)
        s.flush()
        s.execute(insert(Ticket), [{"number": f"N-{n}", "subject": "old", "priority": Priority.NORMAL,
                                    "status": TicketStatus.CLOSED, "organisation_id": org.id} for n in range(3000)])
        s.add(Ticket(number="T-1", subject="down", priority=Priority.CRITICAL, status=TicketStatus.OPEN,
                     organisation_id=org.id))
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        sql = str(_CRITICAL_ORGANISATIONS.compile(dialect=engine.dialect))
        plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + sql))
    assert "ix_tickets_critical_open" in plan, plan


def test_a_chosen_language_no_generalist_speaks_rings_every_agent_at_once() -> None:
    """Band 0 holds only the agents in no focus team: when none of them speaks the chosen
    language, limiting the caller to them would ring nobody until the overflow."""
    agents = [(("Werke",), ("en",)), ((), ("de",)), (("Nowhere",), ("de", "en"))]  # "Nowhere" is no focus team
    assert languages_reached(member_penalty(t, spoken, ("Werke",)) for t, spoken in agents) == {"de", "en"}
    assert languages_reached(member_penalty(t, spoken, ("Werke",)) for t, spoken in agents[:2]) == {"de"}
    stranger = CallerFacts("unknown", language="en", chosen=True)
    route = decide(stranger, ("Werke",), generalists={"de"})
    assert (route.reason, route.language, route.min_penalty, route.max_penalty) == ("unknown", "en", None, None)
    route = decide(stranger, ("Werke",), generalists={"de", "en"})
    assert (route.reason, route.min_penalty, route.max_penalty) == ("language", 2, 3)
    assert decide(stranger, ("Werke",)).reason == "language"  # not known: limited, as before

