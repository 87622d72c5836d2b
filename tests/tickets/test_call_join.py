"""Joining an overflowed call's two legs (tickets.call_join, issue 15): a caller into
site `a` whom a sends to site `b` is ONE call: b's record and ticket are the call
(entry site a, wait = time at a + time at b), a's record is its `overflowed` entry
leg (no abandon, no callback, no ticket), and the reports count it once, at a.
The two bridges write in either order, at the same moment, and repeat themselves;
the outcome is the same. Runs on SQLite, and on PostgreSQL with HOTLINE_TEST_DATABASE_URL."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from cti import events as ev
from cti import queue_log
from cti.calls import CallRegistry
from tests.db_fixture import Sessions, db_sessions, wipe
from tests.factories import T0, new_linkedid
from tests.tickets.test_report_agg import RULES, ZONE, caught_up, same
from tests.tickets.test_sites import old_url  # noqa: F401  (an empty SQLite file or PostgreSQL schema)
from tickets import call_join, report_agg_read
from tickets.calls_service import TicketService, recorded
from tickets.desk import TicketDesk
from tickets.migrate import upgrade
from tickets.models import Callback, CallRecord, Priority, Ticket
from tickets.report_build import build
from tickets.report_data import load, load_calls
from tickets.report_period import period
from tickets.sla import SlaPolicy

NUMBER = "+4934125380001"
A_WAIT, B_WAIT = 4, 3  # seconds in a's queue, then in b's until answered


@pytest.fixture()
def sessions(module_database_url: str) -> Iterator[Sessions]:
    """A database of this module's own (tests/tickets/test_report_agg.py's `sessions` says
    why: the reports here read the aggregates)."""
    with db_sessions(module_database_url) as made:
        wipe(made)
        yield made
        wipe(made)


def _legs(la: str, lb: str, *, queued_at_a: bool = True,
          start: float = 0.0) -> tuple[list[ev.CallUpdated], list[ev.CallUpdated]]:
    """The recorded updates of both legs, through the product's reducer: a's (OVERFLOWED,
    ENDED) and b's (ANSWERED, ENDED); the caller came in `start` s after T0."""
    t = lambda s: T0 + timedelta(seconds=start + s)  # noqa: E731
    a_events: list[ev.DomainEvent] = []
    if queued_at_a:  # waited at a, left its queue after A_WAIT s (Asterisk says abandon), then to b
        a_events += [ev.CallerJoinedQueue(t(0), la, la, "PJSIP/trunk-1", "hotline", NUMBER, "Ada", 1),
                     ev.CallAbandoned(t(A_WAIT), la, "hotline", 1, 1, A_WAIT)]
    a_events += [ev.CallOverflowed(t(A_WAIT + 1), la, "b", "hotline", NUMBER, "Ada"), ev.CallEnded(t(90), la, 16)]
    b_events: list[ev.DomainEvent] = [
        ev.CallerJoinedQueue(t(A_WAIT + 2), lb, lb, "PJSIP/site-a-1", "hotline", NUMBER, "Ada", 1, origin=("a", la)),
        ev.AgentRinging(t(A_WAIT + 3), lb, "hotline", "PJSIP/1001", "Agent", lb + "1"),
        ev.CallAnswered(t(A_WAIT + 2 + B_WAIT), lb, "hotline", "PJSIP/1001", "Agent", B_WAIT, 2),
        ev.CallCompleted(t(89), lb, "hotline", "PJSIP/1001", B_WAIT, 80, ev.CompletedBy.CALLER),
        ev.CallEnded(t(89), lb, 16)]
    return _recorded(a_events), _recorded(b_events)


def _recorded(events: Iterable[ev.DomainEvent]) -> list[ev.CallUpdated]:
    registry = CallRegistry()
    return [u for e in events for u in registry.apply(e, e.at)  # type: ignore[attr-defined]
            if isinstance(u, ev.CallUpdated) and recorded(u)]


def _services(sessions: Sessions) -> dict[str, TicketService]:
    return {site: TicketService(sessions, site=site) for site in ("a", "b")}


def _check(sessions: Sessions, la: str, lb: str, a_wait: float = A_WAIT) -> None:
    with sessions() as s:
        a = s.scalars(select(CallRecord).where(CallRecord.site == "a", CallRecord.linkedid == la)).one()
        b = s.scalars(select(CallRecord).where(CallRecord.site == "b", CallRecord.linkedid == lb)).one()
        tickets = s.scalars(select(Ticket).where(Ticket.linkedid.in_([la, lb]))).all()
        callbacks = s.scalars(select(Callback).where(Callback.caller_number == NUMBER)).all()
        facts = [f for f in load_calls(s, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
                 if f.linkedid in (la, lb)]
    assert [(t.site, t.linkedid) for t in tickets] == [("b", lb)]  # one ticket: the answering leg's
    assert (b.outcome, b.agent, b.ticket_id) == ("answered", "PJSIP/1001", tickets[0].id)
    assert (b.entry_site, b.entry_linkedid, b.entry_wait_seconds) == ("a", la, a_wait)
    assert b.wait_seconds == pytest.approx(a_wait + B_WAIT)  # the total across both sites
    assert (a.outcome, a.overflow_site, a.overflow_linkedid) == ("overflowed", "b", lb)
    assert (a.ticket_id, a.callback_id, a.wait_seconds) == (None, None, a_wait)
    assert callbacks == []
    # the reports: one call, offered at its entry site, answered after the total wait; no abandon
    assert [(f.linkedid, f.site, f.outcome, f.answered, f.wait_seconds) for f in facts] == [
        (lb, "a", "answered", True, pytest.approx(a_wait + B_WAIT))]


ORDERS = {
    "entry first": lambda a, b: [*a, *b],
    "answering first": lambda a, b: [*b, *a],
    "interleaved": lambda a, b: [b[0], a[0], b[1], a[1]],
    "answering, entry ends before the answering leg": lambda a, b: [b[0], a[0], a[1], b[1]],
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_both_legs_in_any_order_make_one_call_and_one_ticket(sessions: Sessions, order: str) -> None:
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    a_updates, b_updates = _legs(la, lb)
    assert [u.change for u in a_updates] == [ev.CallChange.OVERFLOWED, ev.CallChange.ENDED]
    assert [u.call.outcome for u in a_updates] == [ev.Outcome.OVERFLOWED] * 2  # never abandoned
    services = _services(sessions)
    for update in ORDERS[order]([("a", u) for u in a_updates], [("b", u) for u in b_updates]):
        services[update[0]].handle(update[1])
    _check(sessions, la, lb)


def test_every_update_repeated_changes_nothing(sessions: Sessions) -> None:
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    a_updates, b_updates = _legs(la, lb)
    services = _services(sessions)
    created = []
    for site, update in [*(("b", u) for u in b_updates), *(("a", u) for u in a_updates)] * 3:
        if (made := services[site].handle(update)) is not None:
            created.append(made)
    assert [(c.site, c.linkedid) for c in created] == [("b", lb)]  # the pop's ticket, made once
    _check(sessions, la, lb)


@pytest.mark.parametrize("entry_first", [True, False], ids=["entry-first", "answering-first"])
def test_the_answering_leg_recorded_from_its_queue_log_joins_too(sessions: Sessions, entry_first: bool) -> None:
    """b's bridge was down for the whole call: b's leg comes from b's queue_log, where the
    dialplan put the origin (Queue()'s URL argument, ENTERQUEUE's first field)."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    a_updates, _ = _legs(la, lb)
    t0 = int(T0.timestamp())
    logged = queue_log.finished_calls([
        f"{t0 + A_WAIT + 2}|{lb}|hotline|NONE|ENTERQUEUE|a:{la}|{NUMBER}|1",
        f"{t0 + A_WAIT + 2 + B_WAIT}|{lb}|hotline|PJSIP/1001|CONNECT|{B_WAIT}|{lb}1|2",
        f"{t0 + 89}|{lb}|hotline|PJSIP/1001|COMPLETECALLER|{B_WAIT}|80|1"])
    b_updates = [u for call in logged for u in queue_log.as_updates(call)]
    services = _services(sessions)
    legs = [("a", u) for u in a_updates], [("b", u) for u in b_updates]
    for site, update in [*legs[0], *legs[1]] if entry_first else [*legs[1], *legs[0]]:
        services[site].handle(update)
    _check(sessions, la, lb)


def test_never_queued_at_the_entry_site_waits_only_at_the_answering_one(sessions: Sessions) -> None:
    """No agent ready at a: the call went to b at once (a never queued it); a's leg is
    recorded from the overflow event alone, with no time in a's queue."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    a_updates, b_updates = _legs(la, lb, queued_at_a=False)
    services = _services(sessions)
    for site, update in [*(("b", u) for u in b_updates[:1]), *(("a", u) for u in a_updates), ("b", b_updates[1])]:
        services[site].handle(update)
    _check(sessions, la, lb, a_wait=0.0)
    with sessions() as s:
        a = s.scalars(select(CallRecord).where(CallRecord.site == "a", CallRecord.linkedid == la)).one()
    assert (a.caller_number, a.queue) == (NUMBER, "hotline")


def test_an_entry_bridge_that_missed_the_overflow_does_not_make_it_an_abandon(sessions: Sessions) -> None:
    """a's bridge was away when the HotlineOverflow came (its call ends as abandoned after
    40 s): b's bridge had already named the entry leg, which stays `overflowed`, no callback."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    _, b_updates = _legs(la, lb)
    services = _services(sessions)
    for update in b_updates:
        services["b"].handle(update)
    missed = _recorded([ev.CallerJoinedQueue(T0, la, la, "PJSIP/trunk-1", "hotline", NUMBER, "Ada", 1),
                        ev.CallAbandoned(T0 + timedelta(seconds=40), la, "hotline", 1, 1, 40),
                        ev.CallEnded(T0 + timedelta(seconds=90), la, 16)])
    assert missed[-1].call.outcome == ev.Outcome.ABANDONED
    services["a"].handle(missed[-1])
    _check(sessions, la, lb, a_wait=40.0)


def _given_up_at_a(la: str, waited: float = 40.0, start: float = 0.0) -> ev.CallUpdated:
    """a's ENDED when its bridge missed the overflow: an abandon after `waited` s in a's queue."""
    t = lambda s: T0 + timedelta(seconds=start + s)  # noqa: E731
    missed = _recorded([ev.CallerJoinedQueue(t(0), la, la, "PJSIP/trunk-1", "hotline", NUMBER, "Ada", 1),
                        ev.CallAbandoned(t(waited), la, "hotline", 1, 1, int(waited)),
                        ev.CallEnded(t(90), la, 16)])
    assert missed[-1].call.outcome == ev.Outcome.ABANDONED
    return missed[-1]


def _given_up_at_b(la: str, lb: str, waited: int) -> ev.CallUpdated:
    """b's ENDED of the call a overflowed (joined b's queue 41 s after T0): nobody answered
    at b either, the caller hung up after `waited` s there."""
    t = lambda s: T0 + timedelta(seconds=41 + s)  # noqa: E731
    at_b = _recorded([
        ev.CallerJoinedQueue(t(0), lb, lb, "PJSIP/site-a-1", "hotline", NUMBER, "Ada", 1, origin=("a", la)),
        ev.CallAbandoned(t(waited), lb, "hotline", 1, 1, waited),
        ev.CallEnded(t(waited), lb, 16)])
    return at_b[-1]


def _callbacks(sessions: Sessions) -> list[tuple[str, int, datetime, datetime, str]]:
    with sessions() as s:
        return [(c.status.value, c.attempts, c.first_call_at, c.last_call_at, c.done_by) for c in s.scalars(
            select(Callback).where(Callback.caller_number == NUMBER).order_by(Callback.id))]


@pytest.mark.parametrize("entry_first", [True, False], ids=["abandon, then the join", "the join, then abandon"])
def test_a_callback_made_from_the_entry_leg_goes_when_the_join_marks_it_overflowed(
        sessions: Sessions, entry_first: bool) -> None:
    """a's bridge missed the overflow and wrote its leg as an abandon (40 s: a callback item
    for a caller who gave up) before b's bridge wrote the call b answered: the join takes
    the item back, so nobody calls back a served caller; the same end as the other order."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    _, b_updates = _legs(la, lb)
    services = _services(sessions)
    a_update = [("a", _given_up_at_a(la))]
    for n, (site, update) in enumerate([*a_update, *(("b", u) for u in b_updates)] if entry_first
                                       else [*(("b", u) for u in b_updates), *a_update]):
        services[site].handle(update)
        if entry_first and n == 0:
            assert [c[:2] for c in _callbacks(sessions)] == [("open", 1)]  # on /calls until the join
    _check(sessions, la, lb, a_wait=40.0)


@pytest.mark.parametrize("entry_first", [True, False], ids=["abandon, then the join", "the join, then abandon"])
def test_a_callers_earlier_abandon_keeps_its_callback_item(sessions: Sessions, entry_first: bool) -> None:
    """The caller gave up at a ten minutes before (a callback item); the overflowed call's
    entry leg, written as an abandon, was folded into that item: the join takes only its
    own attempt back, and the item stays open for the earlier call, as in the other order."""
    earlier = new_linkedid("1796000000")
    services = _services(sessions)
    services["a"].handle(_given_up_at_a(earlier, start=-600))
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    _, b_updates = _legs(la, lb)
    a_update = [("a", _given_up_at_a(la))]
    for n, (site, update) in enumerate([*a_update, *(("b", u) for u in b_updates)] if entry_first
                                       else [*(("b", u) for u in b_updates), *a_update]):
        services[site].handle(update)
        if entry_first and n == 0:
            assert [c[:2] for c in _callbacks(sessions)] == [("open", 2)]  # folded into the earlier one
    earlier_at = T0 - timedelta(seconds=600)
    assert _callbacks(sessions) == [("open", 1, earlier_at, earlier_at, "")]
    with sessions() as s:
        linked = dict(s.execute(select(CallRecord.linkedid, CallRecord.callback_id)
                                .where(CallRecord.linkedid.in_([earlier, la]))).all())
    assert linked[la] is None and linked[earlier] is not None


@pytest.mark.parametrize("entry_first", [True, False], ids=["abandon, then the join", "the join, then abandon"])
def test_a_caller_who_gave_up_at_the_answering_site_too_has_one_callback_there(
        sessions: Sessions, entry_first: bool) -> None:
    """Nobody answered at b either (30 s, then the caller hung up): the one callback item
    is the joined call's, at b, whichever bridge wrote first."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    services = _services(sessions)
    ordered = [("a", _given_up_at_a(la)), ("b", _given_up_at_b(la, lb, 30))]
    for site, update in ordered if entry_first else ordered[::-1]:
        services[site].handle(update)
    with sessions() as s:
        items = s.scalars(select(Callback).where(Callback.caller_number == NUMBER)).all()
        records = {r.site: r for r in s.scalars(select(CallRecord).where(CallRecord.linkedid.in_([la, lb])))}
    assert [(c.site, c.attempts, c.status.value) for c in items] == [("b", 1, "open")]
    assert (records["a"].outcome, records["a"].callback_id) == ("overflowed", None)
    assert (records["b"].outcome, records["b"].callback_id, records["b"].wait_seconds) == (
        "abandoned", items[0].id, pytest.approx(70.0))


def test_a_callback_an_agent_already_made_is_left_as_it_is(sessions: Sessions) -> None:
    """An agent called the caller back (the item is done) before b's bridge wrote the call:
    the join leaves the item, done by that agent, and the entry leg still names it."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    _, b_updates = _legs(la, lb)
    services = _services(sessions)
    services["a"].handle(_given_up_at_a(la))
    desk = TicketDesk(sessions, SlaPolicy({Priority.NORMAL: 24}))
    desk.complete_callback(desk.callbacks()[0]["id"], "agent1")
    for update in b_updates:
        services["b"].handle(update)
    assert [(c[0], c[1], c[4]) for c in _callbacks(sessions)] == [("done", 1, "agent1")]
    with sessions() as s:
        a = s.scalars(select(CallRecord).where(CallRecord.site == "a", CallRecord.linkedid == la)).one()
    assert (a.outcome, a.overflow_linkedid, a.callback_id is not None) == ("overflowed", lb, True)


def test_a_header_naming_a_call_answered_at_its_own_site_joins_nothing(sessions: Sessions) -> None:
    """The origin is only a claim: a call that was answered where it came in is not an
    entry leg; the answering leg stays a call of its own, the other call untouched."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    own = _recorded([ev.CallerJoinedQueue(T0, la, la, "PJSIP/x-1", "hotline", "+4930999", "Bob", 1),
                     ev.CallAnswered(T0 + timedelta(seconds=2), la, "hotline", "PJSIP/1002", "Agent", 2, 1),
                     ev.CallEnded(T0 + timedelta(seconds=30), la, 16)])
    services = _services(sessions)
    for update in own:
        services["a"].handle(update)
    for update in _legs(la, lb)[1]:
        services["b"].handle(update)
    with sessions() as s:
        rows = {r.site: r for r in s.scalars(select(CallRecord).where(CallRecord.linkedid.in_([la, lb])))}
        tickets = s.scalars(select(Ticket.site).where(Ticket.linkedid.in_([la, lb]))).all()
    assert (rows["a"].outcome, rows["a"].overflow_site, rows["a"].agent) == ("answered", None, "PJSIP/1002")
    assert (rows["b"].entry_site, rows["b"].wait_seconds) == (None, B_WAIT)
    assert sorted(tickets) == ["a", "b"]


def _at_once(work: dict[str, tuple[TicketService, ev.CallUpdated]]) -> None:
    """Each service handles its update in its own thread, released together."""
    start, errors = threading.Barrier(len(work)), []

    def run(service: TicketService, update: ev.CallUpdated) -> None:
        try:
            start.wait()
            service.handle(update)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=item) for item in work.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


def test_both_bridges_at_the_same_moment_still_join(sessions: Sessions) -> None:
    """The two writers of one call run their transactions at once (two threads, two
    connections): whichever commits second sees the other's leg, every time."""
    services = _services(sessions)
    for _ in range(8):
        la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
        a_updates, b_updates = _legs(la, lb)
        for a_update, b_update in zip(a_updates, b_updates, strict=True):  # OVERFLOWED with ANSWERED, ENDED with ENDED
            _at_once({"a": (services["a"], a_update), "b": (services["b"], b_update)})
        _check(sessions, la, lb)


def test_an_abandon_and_the_join_at_the_same_moment_leave_no_callback(sessions: Sessions) -> None:
    """a's bridge writes its leg as an abandon while b's writes the answered call, at once:
    whichever commits second, no callback item is left, every time (no deadlock either)."""
    services = _services(sessions)
    for _ in range(8):
        la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
        _, b_updates = _legs(la, lb)
        _at_once({"a": (services["a"], _given_up_at_a(la)), "b": (services["b"], b_updates[0])})
        services["b"].handle(b_updates[1])
        _check(sessions, la, lb, a_wait=40.0)


def test_the_join_arithmetic() -> None:
    assert call_join.total_wait(3.0, 4.0) == 7.0
    assert call_join.total_wait(3.0, None) == 3.0
    assert call_join.total_wait(None, 4.0) == 4.0
    leg = call_join.AnsweringLeg("1.2", 7.0, 4.0)
    assert call_join.rejoined(leg, 4.0) == {"wait_seconds": 7.0, "entry_wait_seconds": 4.0}  # again: the same
    assert call_join.rejoined(leg, 6.0) == {"wait_seconds": 9.0, "entry_wait_seconds": 6.0}  # a corrected wait
    assert call_join.rejoined(call_join.AnsweringLeg("1.2", 3.0, None), 4.0)["wait_seconds"] == 7.0


def test_the_reducer_marks_the_entry_leg_once() -> None:
    registry = CallRegistry()
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    first = registry.apply(ev.CallOverflowed(at, "1.5", "b", "hotline", NUMBER, "Ada"), at)
    assert [(u.change, u.call.overflow_site, u.call.wait_seconds, u.call.caller_number)
            for u in first if isinstance(u, ev.CallUpdated)] == [(ev.CallChange.OVERFLOWED, "b", 0.0, NUMBER)]
    assert registry.apply(ev.CallOverflowed(at, "1.5", "c"), at) == []  # repeated (or a second site): once


def test_the_reports_count_it_once_at_its_entry_site_and_the_aggregates_follow(sessions: Sessions) -> None:
    """The aggregates built while a's bridge had written its leg as an abandon (it missed the
    overflow) are made stale by the join: after catch-up they equal the raw figures, and
    site a's report shows the one call answered after the total wait, no abandon; b none."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    _, b_updates = _legs(la, lb)
    services = _services(sessions)
    missed = _recorded([ev.CallerJoinedQueue(T0, la, la, "PJSIP/trunk-1", "hotline", NUMBER, "Ada", 1),
                        ev.CallAbandoned(T0 + timedelta(seconds=A_WAIT), la, "hotline", 1, 1, A_WAIT),
                        ev.CallEnded(T0 + timedelta(seconds=90), la, 16)])
    services["a"].handle(missed[-1])
    month, as_of = period("month", ZONE, anchor=date(2026, 11, 15)), datetime(2026, 12, 20, tzinfo=UTC)
    rules = replace(RULES, per_agent=True)  # one agent's call: shown, not suppressed

    def by_site() -> dict[str, dict[str, object]]:
        raw = build(month, "site", load(sessions, month.start, month.end, rules.fcr.days), rules, as_of)
        caught_up(sessions, as_of, rules)
        agg = report_agg_read.report(sessions, month, "site", rules, as_of)
        assert agg is not None
        same(agg, raw, "site")
        return {r["group"]: r for r in agg["rows"]}

    assert {k: (r["offered"], r["abandoned"]) for k, r in by_site().items()} == {"a": (1, 1)}  # not yet known
    for update in b_updates:
        services["b"].handle(update)
    rows = by_site()
    assert set(rows) == {"a"}
    assert (rows["a"]["offered"], rows["a"]["answered"], rows["a"]["abandoned"]) == (1, 1, 0)
    assert rows["a"]["asa_seconds"] == pytest.approx(A_WAIT + B_WAIT)


def test_the_callback_taken_back_leaves_the_reports_and_the_aggregates(sessions: Sessions) -> None:
    """The aggregates built while a's leg was an abandon with its callback item are made
    stale by the item's removal: after catch-up they equal the raw figures, no callback."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    _, b_updates = _legs(la, lb)
    services = _services(sessions)
    services["a"].handle(_given_up_at_a(la))

    def site_a() -> dict[str, object]:
        return _site_a_month(sessions)

    assert (site_a()["abandoned"], site_a()["callbacks_offered"]) == (1, 1)  # not yet known
    for update in b_updates:
        services["b"].handle(update)
    assert (site_a()["answered"], site_a()["abandoned"], site_a()["callbacks_offered"]) == (1, 0, 0)


def test_the_migration_keeps_existing_calls_unjoined(old_url: str) -> None:  # noqa: F811
    upgrade(old_url, "0017")
    with db_sessions(old_url) as made, made.begin() as s:
        s.execute(text("INSERT INTO call_records (linkedid, site, caller_raw, caller_name, queue, position, "
                       "route_reason, route_team, outcome, wait_seconds) "
                       "VALUES ('1795000000.1', 'main', '', '', 'hotline', 1, '', '', 'abandoned', 12.5)"))
    upgrade(old_url)
    with db_sessions(old_url) as made, made() as s:
        row = s.scalars(select(CallRecord)).one()
    assert (row.linkedid, row.outcome, row.wait_seconds) == ("1795000000.1", "abandoned", 12.5)
    assert (row.entry_site, row.entry_linkedid, row.entry_wait_seconds, row.overflow_site,
            row.overflow_linkedid) == (None,) * 5


def test_the_callers_history_lists_the_call_once(sessions: Sessions) -> None:
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    a_updates, b_updates = _legs(la, lb)
    services = _services(sessions)
    for site, update in [*(("a", u) for u in a_updates), *(("b", u) for u in b_updates)]:
        services[site].handle(update)
    desk = TicketDesk(sessions, SlaPolicy({Priority.NORMAL: 24}))
    assert [(c["site"], c["linkedid"]) for c in desk.recent_calls(number=NUMBER)] == [("b", lb)]
    assert {c["outcome"] for c in desk.calls(outcome="overflowed")} >= {"overflowed"}  # still listed as such


def test_the_entry_legs_late_wait_re_dirties_the_answering_leg_in_the_aggregates(sessions: Sessions) -> None:
    """b wrote the call first (wait = its own 3 s) and the aggregates were built; then a's
    bridge writes its 4 s: b's record's total changes, and its day is re-aggregated (the
    caller came in at 23:59:55 local: a's leg is on another day than b's, which only the
    update of b's record itself can mark)."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    a_updates, b_updates = _legs(la, lb, start=14 * 3600 - 5)  # T0 is 10:00 in Berlin
    services = _services(sessions)
    for update in b_updates:
        services["b"].handle(update)

    def site_a() -> dict[str, object]:
        return _site_a_month(sessions)

    assert site_a()["asa_seconds"] == pytest.approx(B_WAIT)  # a's time not known yet
    for update in a_updates:
        services["a"].handle(update)
    assert site_a()["asa_seconds"] == pytest.approx(A_WAIT + B_WAIT)


def _site_a_month(sessions: Sessions) -> dict[str, object]:
    """Site a's November row from the aggregates (caught up first), checked equal to the raw figures."""
    month, as_of = period("month", ZONE, anchor=date(2026, 11, 15)), datetime(2026, 12, 20, tzinfo=UTC)
    rules = replace(RULES, per_agent=True)
    raw = build(month, "site", load(sessions, month.start, month.end, rules.fcr.days), rules, as_of)
    caught_up(sessions, as_of, rules)
    agg = report_agg_read.report(sessions, month, "site", rules, as_of)
    assert agg is not None
    same(agg, raw, "site")
    return {r["group"]: r for r in agg["rows"]}["a"]


def _overflowed_at_a(la: str, waited: int) -> list[ev.CallUpdated]:
    """a's updates when its bridge saw the overflow (the live flow): `waited` s in a's
    queue, then over the trunk to b (OVERFLOWED, then ENDED)."""
    t = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    return _recorded([ev.CallerJoinedQueue(t(0), la, la, "PJSIP/trunk-1", "hotline", NUMBER, "Ada", 1),
                      ev.CallAbandoned(t(waited), la, "hotline", 1, 1, waited),
                      ev.CallOverflowed(t(waited + 1), la, "b", "hotline", NUMBER, "Ada"),
                      ev.CallEnded(t(90), la, 16)])


SHORT_AT_B = {
    "entry leg first": lambda la, lb: [("a", _given_up_at_a(la)), ("b", _given_up_at_b(la, lb, 3))],
    "answering leg first, then a's abandon": lambda la, lb: [
        ("b", _given_up_at_b(la, lb, 3)), ("a", _given_up_at_a(la)), ("a", _given_up_at_a(la))],
    "answering leg first, then a's overflow": lambda la, lb: [
        ("b", _given_up_at_b(la, lb, 3)), *(("a", u) for u in _overflowed_at_a(la, 40))],
}


@pytest.mark.parametrize("order", list(SHORT_AT_B))
def test_a_short_abandon_at_the_answering_site_after_a_long_wait_at_the_entry_site_is_called_back(
        sessions: Sessions, order: str) -> None:
    """40 s at a, then 3 s at b and the caller hung up: the wait that decides whether the
    abandon was short (5 s) is the call's, 43 s across both sites, not b's 3 s. Written
    answering leg first, b alone knows only its 3 s (no callback yet); a's leg brings the
    40 s, and the callback is made then, at b, once (a's writes repeated or two of them)."""
    la, lb = new_linkedid("1796100000"), new_linkedid("1796200000")
    services = _services(sessions)
    for n, (site, update) in enumerate(SHORT_AT_B[order](la, lb)):
        services[site].handle(update)
        if site == "b" and n == 0:
            assert _callbacks(sessions) == []  # 3 s: a short abandon, as far as b knows
    with sessions() as s:
        items = s.scalars(select(Callback).where(Callback.caller_number == NUMBER)).all()
        record = s.scalars(select(CallRecord).where(CallRecord.site == "b", CallRecord.linkedid == lb)).one()
    assert [(c.site, c.reason, c.status.value) for c in items] == [("b", "abandoned", "open")]
    assert (record.callback_id, record.wait_seconds) == (items[0].id, pytest.approx(43.0))
