"""Reports grouped by site and by partner (issue 18): two sites, two partners and
unanswered calls, whose per-group figures equal hand-computed values from raw rows
and from the aggregates; a partner (or site) whose calls 1 to 4 agents answered is
suppressed while per-agent figures are off; moving a user to another partner
regroups their past calls in the aggregates; aggregates built before these groups
existed are not read (no silent zeros) but rebuilt. Runs on SQLite, and on
PostgreSQL with HOTLINE_TEST_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.db_fixture import db_sessions, wipe
from tests.tickets.test_report_agg import RULES, ZONE, caught_up, equal_tables, recomputed, same, stored
from tickets import report_agg_read
from tickets.models import CallRecord, Channel, Priority, Role, Ticket, TicketStatus, User
from tickets.report_agg_models import LAYOUT, ReportAggMeta
from tickets.report_build import build
from tickets.report_data import load
from tickets.report_period import period

NORD, HOUSE = "Callcenter Nord", "in-house"
AS_OF = datetime(2026, 12, 20, 12, tzinfo=UTC)
MONTH = period("month", ZONE, anchor=date(2026, 11, 15))

# linkedid, site, entered (UTC, 10:00 local), outcome, wait, talk, agent, with a ticket
CALLS = [
    *[(f"N{i}", "east", datetime(2026, 11, 2 + i, 9, tzinfo=UTC), "answered", 10, 100, f"PJSIP/200{i}", True)
      for i in range(1, 6)],  # five Nord agents at east
    ("M1", "main", datetime(2026, 11, 10, 9, tzinfo=UTC), "answered", 30, 200, "PJSIP/2006", True),  # in-house
    ("M2", "main", datetime(2026, 11, 11, 9, tzinfo=UTC), "abandoned", 60, 0, "", False),
    ("M3", "east", datetime(2026, 11, 12, 9, tzinfo=UTC), "abandoned", 40, 0, "", False),
]


@pytest.fixture()
def sessions(module_database_url: str) -> Iterator[sessionmaker[Session]]:
    """A database of this module's own (tests/tickets/test_report_agg.py's `sessions` says why)."""
    with db_sessions(module_database_url) as made:
        wipe(made)
        seed(made)
        yield made
        wipe(made)


def seed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for n in range(1, 7):
            s.add(User(username=f"u{n}", password_hash="x", role=Role.AGENT, endpoint=f"PJSIP/200{n}",
                       site="east" if n < 6 else "main", partner=NORD if n < 6 else HOUSE))
        for n, (linkedid, site, at, outcome, wait, talk, agent, ticket) in enumerate(CALLS):
            answered = at + timedelta(seconds=wait) if outcome == "answered" else None
            ended = (answered + timedelta(seconds=talk)) if answered else at + timedelta(seconds=wait)
            rec = CallRecord(linkedid=linkedid, site=site, caller_number=f"+49301{n:04d}", queue="hotline",
                             entered_at=at, answered_at=answered, ended_at=ended, wait_seconds=float(wait),
                             talk_seconds=float(talk) if answered else None, agent=agent or None, outcome=outcome)
            s.add(rec)
            if ticket and answered is not None:
                t = Ticket(number=f"S-{n}", subject="s", status=TicketStatus.NEW, priority=Priority.NORMAL,
                           channel=Channel.PHONE, linkedid=linkedid, site=site, created_at=answered,
                           updated_at=answered)
                s.add(t)
                s.flush()
                rec.ticket_id = t.id
        at = datetime(2026, 11, 13, 9, tzinfo=UTC)  # a mail: site main, nobody answered a call
        s.add(Ticket(number="S-mail", subject="m", status=TicketStatus.NEW, priority=Priority.NORMAL,
                     channel=Channel.EMAIL, created_at=at, updated_at=at))


EAST = {"offered": 6, "answered": 5, "answered_within": 5, "abandoned": 1, "asa_seconds": 10.0,
        "aht_seconds": 100.0 + 30.0, "requests": 5, "longest_wait_seconds": 40.0}  # wrap-up 30 s (RULES)
MAIN = {"offered": 2, "answered": 1, "answered_within": 0, "abandoned": 1, "asa_seconds": 30.0,
        "aht_seconds": 200.0 + 30.0, "requests": 2, "longest_wait_seconds": 60.0}  # M1's ticket and the mail
NORD_ROW = {"offered": 5, "answered": 5, "answered_within": 5, "abandoned": 0, "asa_seconds": 10.0,
            "aht_seconds": 130.0, "requests": 5, "service_level": 1.0}
HOUSE_ROW = {"offered": 1, "answered": 1, "answered_within": 0, "asa_seconds": 30.0, "aht_seconds": 230.0,
             "requests": 1, "service_level": 0.0}
NOBODY = {"offered": 2, "answered": 0, "abandoned": 2, "requests": 1, "asa_seconds": None}  # M2 M3, the mail


def both(sessions: sessionmaker[Session], group: str, per_agent: bool) -> list[dict[str, dict[str, Any]]]:
    """The report's rows by group value, from raw rows and from the aggregates (equal)."""
    rules = replace(RULES, per_agent=per_agent)
    raw = build(MONTH, group, load(sessions, MONTH.start, MONTH.end, rules.fcr.days), rules, AS_OF)
    caught_up(sessions, AS_OF, rules)
    agg = report_agg_read.report(sessions, MONTH, group, rules, AS_OF)
    assert agg is not None
    same(agg, raw, group)
    return [{r["group"]: r for r in report["rows"]} for report in (raw, agg)]


def close(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["suppressed"] is False
    for key, value in want.items():
        assert got[key] == (pytest.approx(value) if isinstance(value, float) else value), key


def test_site_and_partner_groups_equal_hand_computed_figures(sessions: sessionmaker[Session]) -> None:
    for rows in both(sessions, "site", per_agent=True):
        assert set(rows) == {"east", "main"}
        close(rows["east"], EAST)
        close(rows["main"], MAIN)
    for rows in both(sessions, "partner", per_agent=True):
        assert set(rows) == {NORD, HOUSE, ""}
        close(rows[NORD], NORD_ROW)
        close(rows[HOUSE], HOUSE_ROW)
        close(rows[""], NOBODY)


def test_a_partner_of_fewer_than_five_agents_is_suppressed_while_per_agent_is_off(
        sessions: sessionmaker[Session]) -> None:
    for rows in both(sessions, "partner", per_agent=False):
        close(rows[NORD], NORD_ROW)  # five agents: shown
        close(rows[""], NOBODY)  # nobody answered: no one's figures
        assert rows[HOUSE]["suppressed"] is True  # one agent: that person's figures
        assert all(rows[HOUSE][k] is None for k in ("offered", "answered", "asa_seconds", "requests", "fcr"))
    for rows in both(sessions, "site", per_agent=False):
        close(rows["east"], EAST)
        assert rows["main"]["suppressed"] is True and rows["main"]["offered"] is None  # one agent at main


def test_moving_a_user_to_another_partner_regroups_their_calls(sessions: sessionmaker[Session]) -> None:
    both(sessions, "partner", per_agent=True)  # the aggregates are built and current
    with sessions.begin() as s:
        s.scalars(select(User).where(User.username == "u6")).one().partner = NORD
    for rows in both(sessions, "partner", per_agent=True):  # the catch-up re-aggregated M1's day
        assert set(rows) == {NORD, ""}
        close(rows[NORD], {"offered": 6, "answered": 6, "requests": 6})
    equal_tables(stored(sessions)[0], recomputed(sessions, date(2026, 11, 1), date(2026, 11, 30))[0])


def test_aggregates_of_an_older_layout_are_rebuilt_not_read(sessions: sessionmaker[Session]) -> None:
    both(sessions, "", per_agent=True)
    with sessions.begin() as s:  # as a hotline before the site and partner dims left them
        s.execute(update(ReportAggMeta).values(id=1))
    assert report_agg_read.report(sessions, MONTH, "site", RULES, AS_OF) is None  # raw rows, not zeros
    caught_up(sessions, AS_OF)  # rebuilds
    with sessions() as s:
        assert [m.id for m in s.scalars(select(ReportAggMeta))] == [LAYOUT]
    for rows in both(sessions, "site", per_agent=True):
        close(rows["east"], EAST)


def test_the_same_endpoint_at_another_site_is_another_agent(sessions: sessionmaker[Session]) -> None:
    """u7 has PJSIP/2001 at main, in-house; east's PJSIP/2001 (u1, Nord) answered N1: N1
    stays Nord's and is counted once (the partner join is by site and endpoint)."""
    with sessions.begin() as s:
        s.add(User(username="u7", password_hash="x", role=Role.AGENT, endpoint="PJSIP/2001", site="main",
                   partner=HOUSE))
    for rows in both(sessions, "partner", per_agent=True):
        assert set(rows) == {NORD, HOUSE, ""}
        close(rows[NORD], NORD_ROW)
        close(rows[HOUSE], HOUSE_ROW)
    for rows in both(sessions, "site", per_agent=True):
        close(rows["east"], EAST)


def test_moving_a_user_to_another_site_regroups_their_calls(sessions: sessionmaker[Session]) -> None:
    """u6 (main's PJSIP/2006, in-house) moves to east: main's PJSIP/2006 that answered M1 is
    nobody's now, so M1 has no partner; the catch-up re-aggregated its day (the site is part
    of what a user's calls are)."""
    both(sessions, "partner", per_agent=True)  # the aggregates are built and current
    with sessions.begin() as s:
        s.scalars(select(User).where(User.username == "u6")).one().site = "east"
    for rows in both(sessions, "partner", per_agent=True):
        assert set(rows) == {NORD, ""}
        close(rows[""], {"offered": 3, "answered": 1})
    equal_tables(stored(sessions)[0], recomputed(sessions, date(2026, 11, 1), date(2026, 11, 30))[0])


def test_per_agent_figures_tell_the_same_endpoint_at_two_sites_apart(sessions: sessionmaker[Session]) -> None:
    """main's PJSIP/2001 (u7) answers five calls, east's PJSIP/2001 (u1) answered N1: two agents,
    two rows (east's qualified by its site), neither adding the other's calls."""
    with sessions.begin() as s:
        s.add(User(username="u7", password_hash="x", role=Role.AGENT, endpoint="PJSIP/2001", site="main",
                   partner=HOUSE))
        for n in range(5):
            at = datetime(2026, 11, 20 + n, 9, tzinfo=UTC)
            s.add(CallRecord(linkedid=f"P{n}", site="main", caller_number=f"+49302{n:04d}", queue="hotline",
                             entered_at=at, answered_at=at + timedelta(seconds=8), ended_at=at + timedelta(minutes=2),
                             wait_seconds=8.0, talk_seconds=112.0, agent="PJSIP/2001", outcome="answered"))
    rules = replace(RULES, per_agent=True)
    report = build(MONTH, "agent", load(sessions, MONTH.start, MONTH.end, rules.fcr.days), rules, AS_OF)
    rows = {r["group"]: r for r in report["rows"]}
    assert {"PJSIP/2001", "east:PJSIP/2001"} <= set(rows)
    assert rows["PJSIP/2001"]["answered"] == 5 and rows["PJSIP/2001"]["asa_seconds"] == pytest.approx(8.0)
    assert rows["east:PJSIP/2001"]["suppressed"] is True  # one call: under the per-agent minimum of five
    assert report["total"]["answered"] == 11
    caught_up(sessions, AS_OF, rules)  # the aggregates' distinct agents count the two as two
    equal_tables(stored(sessions)[0], recomputed(sessions, date(2026, 11, 1), date(2026, 11, 30))[0])
