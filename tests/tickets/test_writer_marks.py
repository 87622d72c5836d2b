"""The call writer's statements are built once and run with parameters
(tickets.calls_service): the report aggregates' marks (tickets.report_agg_marks) still
read the rows each UPDATE touches, with that UPDATE's parameters. Calls written through
TicketService, caught up after the answers and again after the ends (an end's hours are
then marked by its own transaction alone), leave the aggregates equal to a recomputation;
so does an end re-sent with a later time (the call moves to another hour). A number that
calls all day is read by index, not whole: the FCR neighbours from its previous answered
call on, the pop's newest calls. Runs on SQLite, and on PostgreSQL with
HOTLINE_TEST_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from cti import events as ev
from tests.db_fixture import wiped_sessions
from tests.factories import T0, add_contact, answered_call, gave_up, marks_left
from tests.tickets.test_report_agg import RULES, TZ, caught_up, equal_tables, recomputed, stored
from tickets import pop_history, report_agg_fcr, report_agg_marks, report_agg_store
from tickets.calls_service import TicketService
from tickets.calls_service import _set as set_record
from tickets.calls_service import _set_record as set_statement
from tickets.models import CallRecord, Ticket, TicketHistory, TicketStatus
from tickets.report_agg_models import ReportAggMark


@pytest.fixture()
def sessions(module_database_url: str) -> Iterator[sessionmaker[Session]]:
    """A database of this module's own (tests/tickets/test_report_agg.py's `sessions` says why)."""
    with wiped_sessions(module_database_url) as made:
        yield made


def _agree(sessions: sessionmaker[Session], since: datetime = T0) -> None:
    now = datetime.now(UTC)
    caught_up(sessions, now)
    first, last = since.date() - timedelta(days=2), max(now.date(), since.date()) + timedelta(days=2)
    rows, hist = recomputed(sessions, first, last)
    equal_tables(stored(sessions)[0], rows)
    equal_tables(stored(sessions)[1], hist)


def test_calls_the_service_writes_leave_the_aggregates_equal_to_a_recomputation(
        sessions: sessionmaker[Session]) -> None:
    known = [add_contact(sessions, f"Kontakt {n}", f"+493412538{n:04d}") for n in range(4)]
    assert len(known) == 4
    with sessions.begin() as s:
        report_agg_store.rebuild(s, RULES, TZ, datetime.now(UTC))
    service = TicketService(sessions)
    calls = [answered_call(f"+493412538{n % 6:04d}" if n % 5 else None, linkedid=f"1795100000.{n}",
                           entered_at=T0 + timedelta(minutes=37 * n), wait=3.0 + n, talk=60.0 + 11 * n,
                           agent=f"PJSIP/{1001 + n % 3}") for n in range(12)]
    for answered, _ in calls:
        assert service.handle(answered) is not None
    _agree(sessions)
    for _, ended in calls:  # each end alone: its transaction's marks are all there is
        service.handle(ended)
        assert marks_left(sessions) >= 1
        _agree(sessions)
    for n in range(4):  # callers who gave up: records, callbacks
        service.handle(gave_up(f"+493412538{n:04d}", T0 + timedelta(hours=3, minutes=n)))
    _agree(sessions)
    for answered, ended in calls[:3]:  # replayed: nothing changes, nothing to recount
        service.handle(answered)
        service.handle(ended)
    _agree(sessions)
    _, ended = calls[5]  # re-sent two hours later: the call moves, both hours are recounted
    assert ended.call.ended_at is not None and ended.call.entered_at is not None
    later = replace(ended.call, ended_at=ended.call.ended_at + timedelta(hours=2),
                    entered_at=ended.call.entered_at + timedelta(hours=2))
    service.handle(replace(ended, call=later))
    with sessions() as s:
        moved = s.scalars(select(CallRecord).where(CallRecord.linkedid == "1795100000.5")).one()
    assert moved.entered_at == later.entered_at
    _agree(sessions)


def test_an_update_built_once_is_read_with_its_own_parameters(sessions: sessionmaker[Session]) -> None:
    """The hook's reading of a static UPDATE's rows is built once and takes the parameters
    the UPDATE runs with: of two records, an update of one marks that one's hours only."""
    service = TicketService(sessions)
    for n, hour in enumerate((2, 7)):
        for update in answered_call(None, linkedid=f"1795200000.{n}", entered_at=T0 + timedelta(hours=hour)):
            service.handle(update)
    with sessions.begin() as s:
        s.execute(delete(ReportAggMark))
        record, created = s.execute(select(CallRecord.id, Ticket.created_at).join(
            Ticket, Ticket.id == CallRecord.ticket_id).where(CallRecord.linkedid == "1795200000.1")).one()
    held = set_statement(("talk_seconds",), False).get_execution_options()["report_agg_static"]
    built = []
    for talk in (99.0, 98.0):
        with sessions.begin() as s:
            set_record(s, record, {"talk_seconds": talk})
        built.append(held.select)
    with sessions() as s:
        hours = {report_agg_marks.hour_of(h) for h in s.scalars(select(ReportAggMark.hour))}
    assert hours == {report_agg_marks.hour_of(T0 + timedelta(hours=7)), report_agg_marks.hour_of(created)}
    assert built[0] is not None and built[1] is built[0]  # the same statement twice: one reading built


def test_an_end_that_sets_the_times_the_row_holds_is_read_once(sessions: sessionmaker[Session],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A withheld caller's abandon: its record inserted, then updated with the same times:
    no second reading at commit. The UPDATE's parameters, not the statement, hold the values."""
    reads: list[list[int]] = []
    real = report_agg_marks._BY_IDS[CallRecord]

    def counted(conn: Connection, ids: list[int]) -> report_agg_marks.Seen:
        reads.append(ids)
        return real(conn, ids)

    monkeypatch.setitem(report_agg_marks._BY_IDS, CallRecord, counted)
    TicketService(sessions).handle(gave_up(None, T0 + timedelta(hours=1), outcome=ev.Outcome.TIMEOUT))
    assert reads == []
    with sessions() as s:
        hours = {report_agg_marks.hour_of(h) for h in s.scalars(select(ReportAggMark.hour))}
    assert hours == {report_agg_marks.hour_of(T0 + timedelta(hours=1))}


def _resolve(sessions: sessionmaker[Session], linkedid: str, at: datetime) -> None:
    """The call's ticket resolved at `at` (first-contact resolution when soon after the call)."""
    with sessions.begin() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.linkedid == linkedid)).one()
        s.add(TicketHistory(ticket_id=ticket.id, at=at, actor="t", field="status", old=ticket.status.value,
                            new=TicketStatus.RESOLVED.value))
        ticket.status = TicketStatus.RESOLVED


def test_a_short_abandon_between_does_not_hide_the_ticket_a_repeat_call_undoes(
        sessions: sessionmaker[Session]) -> None:
    """A number's answered call (its ticket resolved at once: a first-contact resolution),
    then a misdial from it (a short abandon, no contact), then, two days later, a call again:
    the repeat undoes the first ticket's FCR, and its transaction alone marks that ticket's
    hour (the previous answered call bounds what it reads, not the misdial). Days apart: a
    catch-up recounts whole days."""
    number, base = "+4934125387777", datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    with sessions.begin() as s:
        report_agg_store.rebuild(s, RULES, TZ, datetime.now(UTC))
    service = TicketService(sessions)
    for update in answered_call(number, linkedid="1795300000.1", entered_at=base, wait=5.0, talk=60.0):
        service.handle(update)
    with sessions.begin() as s:  # made when it was answered (the service stamps "now")
        first = s.scalars(select(Ticket).where(Ticket.linkedid == "1795300000.1")).one()
        first.created_at = base + timedelta(seconds=5)
    _resolve(sessions, "1795300000.1", base + timedelta(minutes=3))
    service.handle(gave_up(number, base + timedelta(hours=1), wait=2.0))  # short: no contact
    _agree(sessions, base)
    for update in answered_call(number, linkedid="1795300000.2", entered_at=base + timedelta(days=2)):
        service.handle(update)
    _agree(sessions, base)


def test_a_number_that_calls_all_day_reads_only_its_tickets_since_its_previous_answered_call(
        sessions: sessionmaker[Session]) -> None:
    """A switchboard number, 40 answered calls a minute apart: a new call's FCR neighbours
    are the tickets since the previous answered call, not all 40 of the FCR days."""
    number = "+4934125386666"
    service = TicketService(sessions)
    for n in range(40):
        for update in answered_call(number, linkedid=f"1795400000.{n}", entered_at=T0 + timedelta(minutes=n),
                                    wait=5.0, talk=30.0):
            service.handle(update)
    at = T0 + timedelta(minutes=40)
    with sessions() as s:
        found = report_agg_fcr.neighbours(s.connection(), [(None, number, at)], 7)
    assert 1 <= len(found) <= 2  # the last call's ticket (and one overlapping it), not 40


def _plan(conn: Connection, statement: Any, **params: Any) -> str:
    """The database's plan for `statement` (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN)."""
    compiled = statement.compile(dialect=conn.dialect)
    values = compiled.construct_params(params)
    args = tuple(values[k] for k in compiled.positiontup) if compiled.positiontup else values
    explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    return " ".join(str(row) for row in conn.exec_driver_sql(explain + str(compiled), args))


def test_a_busy_numbers_calls_are_read_by_index_not_whole(sessions: sessionmaker[Session]) -> None:
    """Among 3,000 calls of one number, the previous answered call (the FCR neighbours'
    bound) and the newest calls a pop lists are index seeks in the order wanted."""
    number, now = "+4934125385555", datetime.now(UTC)
    with sessions.begin() as s:
        s.execute(insert(CallRecord), [
            {"linkedid": f"1795500000.{n}", "caller_number": number, "entered_at": T0 + timedelta(seconds=n),
             "answered_at": T0 + timedelta(seconds=n + 2), "ended_at": T0 + timedelta(seconds=n + 9),
             "outcome": "answered"} for n in range(3000)])
    engine = sessions.kw["bind"]
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        bound = _plan(conn, select(report_agg_fcr._PREVIOUS), number=number, until=now)
        pop = _plan(conn, pop_history.newest_statement(pop_history._CALLS_FROM_NUMBER, 1), k0=number)
    assert "ix_call_records_number_ended" in bound, bound
    assert "ix_call_records_number_entered" in pop, pop
    # the 3,000 are not sorted: only the five found are (SQLite's one temporary B-tree, the outer ORDER BY)
    assert pop.count("TEMP B-TREE") <= 1 and "Sort Key: call_records_1" not in pop, pop


def test_a_ticket_given_to_a_contact_is_undone_by_that_contacts_next_call(sessions: sessionmaker[Session]) -> None:
    """An unknown caller's ticket (resolved at once), which the agent then gives to a contact;
    two days later that contact calls from their own number: the repeat undoes the ticket's
    FCR (the reports match contacts by the ticket's contact), and its write marks that day."""
    contact = add_contact(sessions, "Erika Muster", "+4934125385555")
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    with sessions.begin() as s:
        report_agg_store.rebuild(s, RULES, TZ, datetime.now(UTC))
    service = TicketService(sessions)
    for update in answered_call("+4915112345678", linkedid="1795600000.1", entered_at=base, wait=5.0, talk=60.0):
        service.handle(update)
    with sessions.begin() as s:  # made when it was answered; the agent names the caller
        first = s.scalars(select(Ticket).where(Ticket.linkedid == "1795600000.1")).one()
        first.created_at, first.contact_id = base + timedelta(seconds=5), contact
    _resolve(sessions, "1795600000.1", base + timedelta(minutes=3))
    _agree(sessions, base)
    for update in answered_call("+4934125385555", linkedid="1795600000.2", entered_at=base + timedelta(days=2)):
        service.handle(update)
    _agree(sessions, base)
    # many keys at once (an import, a contact's edit): the one query for all finds it too
    keys = [(contact, None, base + timedelta(days=2)), *((None, f"+4930555{n:04d}", base) for n in range(5))]
    with sessions() as s:
        assert base + timedelta(seconds=5) in report_agg_fcr.neighbours(s.connection(), keys, 7)
