"""Status by phone and the survey key, pure: who may hear which ticket, what counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tickets.phone_status import (
    StatusAnswer,
    StatusResult,
    TicketFacts,
    TicketRef,
    average,
    for_keyed,
    for_known,
    parse_csat,
    parse_keys,
)

DUE = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
TICKET = TicketFacts(123, "2026-000123", "open", DUE, frozenset({"+4934173000001"}))


@pytest.mark.parametrize(("keys", "ref"), [
    ("123", TicketRef(id=123)), ("000123", TicketRef(id=123)), ("2026000123", TicketRef(number="2026-000123")),
    (" 7 ", TicketRef(id=7)), ("0", None), ("", None), ("12a", None), ("*1#", None), ("1" * 13, None),
    ("999999999", TicketRef(id=999999999)), ("1000000000", None),
])
def test_keys_are_a_ticket_id_or_a_full_number(keys: str, ref: TicketRef | None) -> None:
    assert parse_keys(keys) == ref


def test_a_keyed_ticket_is_read_only_to_a_number_of_its_own_contact() -> None:
    assert for_keyed("+4934173000001", TICKET) == StatusAnswer(StatusResult.TICKET, TICKET)
    assert for_keyed("+4934173000002", TICKET).result is StatusResult.REFUSED
    assert for_keyed("+4934173000001", None).result is StatusResult.NOT_FOUND
    assert for_keyed(None, TICKET).result is StatusResult.INVALID  # withheld: nothing to check against
    assert for_keyed("", TICKET).result is StatusResult.INVALID
    nobody = TicketFacts(5, "2026-000005", "open", None, frozenset())  # a ticket without a contact
    assert for_keyed("+4934173000001", nobody).result is StatusResult.REFUSED


def test_a_known_caller_hears_the_newest_open_ticket_or_is_offered_nothing() -> None:
    assert for_known(TICKET) == StatusAnswer(StatusResult.TICKET, TICKET)
    assert for_known(None).result is StatusResult.NONE


def test_variables_for_the_dialplan_end_with_the_result() -> None:
    variables = StatusAnswer(StatusResult.TICKET, TICKET).variables("Europe/Berlin")
    assert variables == [("HOTLINE_STATUS_ID", "123"), ("HOTLINE_STATUS_STATE", "open"),
                         ("HOTLINE_STATUS_DUE", str(int(DUE.timestamp()))), ("HOTLINE_STATUS_TZ", "Europe/Berlin"),
                         ("HOTLINE_STATUS_RESULT", "ticket")]
    # refused and not found sound the same on the phone: only the result goes out
    for result in (StatusResult.REFUSED, StatusResult.NOT_FOUND, StatusResult.NONE, StatusResult.INVALID):
        assert StatusAnswer(result).variables("UTC") == [("HOTLINE_STATUS_RESULT", result.value)]


def test_a_resolved_ticket_has_no_due_time_to_read() -> None:
    resolved = TicketFacts(9, "2026-000009", "resolved", DUE, frozenset())
    assert dict(StatusAnswer(StatusResult.TICKET, resolved).variables("UTC"))["HOTLINE_STATUS_DUE"] == ""
    odd = TicketFacts(9, "2026-000009", "weird", None, frozenset())
    assert dict(StatusAnswer(StatusResult.TICKET, odd).variables("UTC"))["HOTLINE_STATUS_STATE"] == "open"


@pytest.mark.parametrize(("key", "csat"), [("1", 1), ("4", 4), ("5", 5), (" 3", 3), ("0", None), ("6", None),
                                           ("*", None), ("#", None), ("", None), ("45", None), ("x", None)])
def test_only_one_key_1_to_5_is_a_survey_answer(key: str, csat: int | None) -> None:
    assert parse_csat(key) == csat


def test_average() -> None:
    assert average([]) is None
    assert average([4, 5, 3]) == 4.0 and average([1, 2]) == 1.5
