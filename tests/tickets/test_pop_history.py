"""Many pops' history at once (tickets.pop_history) is what each pop's own lookup shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from tests.db_fixture import Sessions, wipe
from tests.factories import add_contact
from tickets.call_join import OVERFLOWED
from tickets.desk import TicketDesk
from tickets.models import Callback, CallbackStatus, CallRecord, Ticket, TicketStatus
from tickets.pop_history import histories
from tickets.sla import SlaPolicy
from tickets.visibility import tickets_parties

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _enricher(sessions: Sessions, batched: bool):  # type: ignore[no-untyped-def]
    from agent_console.pops import PopEnricher

    desk = TicketDesk(sessions, SlaPolicy({}))
    return PopEnricher(lookup=None, desk=desk, contacts=None,  # type: ignore[arg-type]  # history reads the desk only
                       parties=partial(tickets_parties, sessions),
                       read_histories=partial(histories, sessions) if batched else None)


def _seed(sessions: Sessions) -> tuple[int, int, int]:
    """Two contacts with more open tickets and calls than a pop shows (and closed ones,
    overflowed legs, calls without an entry time, ties in time), a contact with nothing,
    and numbers with calls and callback items, open and done."""
    erika = add_contact(sessions, "Erika Muster", "+4934125385555")
    hans = add_contact(sessions, "Hans Beispiel", "+4930111111")
    nobody = add_contact(sessions, "Nora Neu", "+4930222222")
    n = 0
    with sessions.begin() as s:
        for contact, count in ((erika, 20), (hans, 3)):
            for i in range(count):
                n += 1
                status = (TicketStatus.CLOSED if i % 4 == 0 else TicketStatus.RESOLVED if i % 5 == 0
                          else TicketStatus.OPEN)
                s.add(Ticket(number=f"2026-{n:06d}", subject=f"t{n}", contact_id=contact, status=status,
                             created_at=T0 + timedelta(minutes=i // 2), due_at=T0 + timedelta(days=30)))
        for who, number, count in ((erika, "+4934125385555", 9), (hans, "+4930111111", 2),
                                   (None, "+4930999001", 8), (None, "+4930999002", 1)):
            for i in range(count):
                n += 1
                s.add(CallRecord(linkedid=f"1796{n:06d}.{n}", caller_number=number, contact_id=who,
                                 entered_at=None if i == 1 else T0 + timedelta(minutes=i // 3),
                                 outcome=OVERFLOWED if i == 2 else "answered", queue="hotline"))
        for number, count in (("+4934125385555", 3), ("+4930999001", 7), ("+4930999002", 2)):
            for i in range(count):
                n += 1
                s.add(Callback(caller_number=number, first_call_at=T0, last_call_at=T0 + timedelta(minutes=i // 2),
                               status=CallbackStatus.DONE if i == 0 else CallbackStatus.OPEN, linkedid=f"cb{n}"))
    return erika, hans, nobody


def test_many_pops_history_read_at_once_is_each_pops_own(sessions: Sessions) -> None:
    try:
        erika, hans, nobody = _seed(sessions)
        contact = {i: {"id": i} for i in (erika, hans, nobody)}
        matches = [{"number": "+4934125385555", "contact": contact[erika]},
                   {"number": "+4930111111", "contact": contact[hans]},
                   {"number": "+4930222222", "contact": contact[nobody]},
                   {"number": "+4930999001", "contact": None},
                   {"number": "+4930999002", "contact": None},
                   {"number": "+4930999003", "contact": None},  # nothing known of it
                   {"number": None, "contact": None},  # no caller ID
                   {"number": "+4934125385555", "contact": contact[erika]}]  # the same caller twice in a burst
        one_by_one = _enricher(sessions, batched=False)
        expected = [one_by_one.history(m) for m in matches]
        assert [len(e["open_tickets"]) for e in expected[:3]] == [10, 2, 0]  # the pop's limit, then fewer
        assert [len(e["recent_calls"]) for e in expected[:5]] == [5, 2, 0, 5, 1]  # the overflowed legs left out
        assert [len(e["callbacks"]) for e in expected[:5]] == [2, 0, 0, 5, 1]  # open ones only
        assert expected[0]["parties"] and set(expected[0]["parties"]) == {t["id"] for t in expected[0]["open_tickets"]}
        assert _enricher(sessions, batched=True).history_many(matches) == expected
        assert _enricher(sessions, batched=True).history_many([]) == []
    finally:
        wipe(sessions)


def test_a_burst_of_more_callers_than_one_statement_takes_reads_them_all(sessions: Sessions) -> None:
    """300 callers (more than one UNION ALL holds; statement sizes padded to a power of two):
    each caller's calls as when asked alone, none missing, none twice."""
    try:
        _seed(sessions)
        strangers = [f"+4930777{n:04d}" for n in range(298)]
        callers = [*strangers[:150], "+4930999001", *strangers[150:], "+4930999002"]
        alone = {n: histories(sessions, [], [], [n], T0).calls_from_number for n in ("+4930999001", "+4930999002")}
        found = histories(sessions, [], callers, callers, T0)
        assert found.calls_from_number == {**alone["+4930999001"], **alone["+4930999002"]}
        assert [len(v) for v in found.calls_from_number.values()] == [5, 1]
        assert set(found.callbacks) == {"+4930999001", "+4930999002"}
    finally:
        wipe(sessions)
