"""Callers who gave up get one callback item per number and window; replays count nothing twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cti import events as ev
from tests.db_fixture import Sessions
from tests.factories import T0, add_contact, answered_call, gave_up
from tickets.calls_service import TicketService
from tickets.models import Callback, CallbackStatus, CallRecord, Priority, Ticket
from tickets.sla import SlaPolicy


def items(sessions: Sessions) -> list[Callback]:
    with sessions() as s:
        return list(s.scalars(select(Callback).order_by(Callback.id)))


def records(sessions: Sessions) -> dict[str, int | None]:
    with sessions() as s:
        return {r.linkedid: r.callback_id for r in s.scalars(select(CallRecord))}


def test_two_abandons_within_the_window_are_one_item_with_two_attempts(sessions: Sessions) -> None:
    contact = add_contact(sessions, "Erika Muster", "+4934125385555")
    service = TicketService(sessions)
    first, second = gave_up("+4934125385555", T0), gave_up("+4934125385555", T0 + timedelta(minutes=50))
    service.handle(first)
    service.handle(second)
    [item] = items(sessions)
    assert item.attempts == 2 and item.reason == "abandoned" and item.status == "open"
    assert item.first_call_at == T0 and item.last_call_at == T0 + timedelta(minutes=50)
    assert item.contact_id == contact and item.caller_number == "+4934125385555"
    assert set(records(sessions).values()) == {item.id}


def test_the_window_runs_from_the_last_call_and_outside_it_a_new_item_starts(sessions: Sessions) -> None:
    service = TicketService(sessions, callback_window=timedelta(minutes=30))
    for minutes in (0, 25, 50):  # each within 30 min of the one before: one item
        service.handle(gave_up("+4930999001", T0 + timedelta(minutes=minutes)))
    service.handle(gave_up("+4930999001", T0 + timedelta(minutes=81)))  # 31 min after the last
    first, second = items(sessions)
    assert (first.attempts, second.attempts) == (3, 1)
    assert second.first_call_at == T0 + timedelta(minutes=81)


def test_outside_the_default_window_two_items(sessions: Sessions) -> None:
    service = TicketService(sessions)
    service.handle(gave_up("+4930999002", T0))
    service.handle(gave_up("+4930999002", T0 + timedelta(minutes=61)))
    assert [i.attempts for i in items(sessions)] == [1, 1]


def test_replayed_ended_changes_nothing(sessions: Sessions) -> None:
    service = TicketService(sessions)
    call = gave_up("+4930999003", T0, outcome=ev.Outcome.TIMEOUT, wait=300.0)
    for _ in range(3):
        service.handle(call)
    [item] = items(sessions)
    assert item.attempts == 1 and item.reason == "timeout"


def test_done_items_are_not_reopened(sessions: Sessions) -> None:
    service = TicketService(sessions)
    service.handle(gave_up("+4930999004", T0))
    with sessions.begin() as s:
        s.scalars(select(Callback)).one().status = CallbackStatus.DONE
    service.handle(gave_up("+4930999004", T0 + timedelta(minutes=5)))
    assert [(i.status, i.attempts) for i in items(sessions)] == [("done", 1), ("open", 1)]


@pytest.mark.parametrize(("number", "outcome", "wait"), [
    ("+4930999005", ev.Outcome.ABANDONED, 4.9),  # short abandon (threshold 5 s)
    (None, ev.Outcome.ABANDONED, 40.0),  # withheld: nobody to call
    (None, ev.Outcome.AFTER_HOURS, 0.0),
    ("+4930999005", ev.Outcome.ANSWERED, 40.0),
    ("+4930999005", ev.Outcome.TRANSFERRED, 40.0),
])
def test_no_callback_for_short_abandons_withheld_or_answered(sessions: Sessions, number: str | None,
                                                              outcome: ev.Outcome, wait: float) -> None:
    TicketService(sessions).handle(gave_up(number, T0, outcome=outcome, wait=wait))
    assert items(sessions) == [] and list(records(sessions).values()) == [None]


def test_after_hours_and_the_short_abandon_threshold_are_settings(sessions: Sessions) -> None:
    service = TicketService(sessions, short_abandon_seconds=10)
    service.handle(gave_up("+4930999006", T0, wait=9.0))  # short under this threshold
    service.handle(gave_up("+4930999007", T0, outcome=ev.Outcome.AFTER_HOURS, wait=0.0))
    service.handle(gave_up("+4930999008", T0, wait=10.0))
    assert [(i.caller_number, i.reason) for i in items(sessions)] == [
        ("+4930999007", "after_hours"), ("+4930999008", "abandoned")]


def test_auto_created_tickets_get_a_normal_priority_due_time(sessions: Sessions) -> None:
    policy = SlaPolicy({Priority.NORMAL: 24, Priority.CRITICAL: 1})
    with_policy, without = TicketService(sessions, policy=policy), TicketService(sessions)
    made = [with_policy.handle(u) for u in answered_call("+4930999009")]
    plain = [without.handle(u) for u in answered_call("+4930999010")]
    with sessions() as s:
        ticket = s.get_one(Ticket, made[0].ticket_id)  # type: ignore[union-attr]
        other = s.get_one(Ticket, plain[0].ticket_id)  # type: ignore[union-attr]
    assert ticket.priority == Priority.NORMAL and other.due_at is None
    assert ticket.due_at == ticket.created_at + timedelta(hours=24)  # 24/7: plain elapsed time


def test_the_pop_context_carries_the_numbers_open_callbacks(sessions: Sessions) -> None:
    """A caller who gave up before and rings again: the agent's context panel lists the open
    callback item of that number (and only that number's, only open ones)."""
    from agent_console.pops import PopEnricher
    from tickets.desk import TicketDesk

    service = TicketService(sessions)
    service.handle(gave_up("+4934125385566", T0))
    service.handle(gave_up("+4934125385566", T0 + timedelta(minutes=5)))
    service.handle(gave_up("+4930999002", T0))
    desk = TicketDesk(sessions, SlaPolicy({Priority.NORMAL: 24}))
    enricher = PopEnricher(lookup=None, desk=desk, contacts=None)  # type: ignore[arg-type]  # history() reads the desk only
    [item] = enricher.history({"number": "+4934125385566", "contact": None})["callbacks"]
    assert (item["caller_number"], item["attempts"], item["status"]) == ("+4934125385566", 2, "open")
    desk.complete_callback(item["id"], "anna")
    assert enricher.history({"number": "+4934125385566", "contact": None})["callbacks"] == []
    assert enricher.history({"number": None, "contact": None})["callbacks"] == []
