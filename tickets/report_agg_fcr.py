"""The FCR neighbours of a contact: the earlier tickets whose first-contact resolution a
new call or ticket can undo, whose report hours its write marks (tickets.report_agg_marks).

Layer: storage. A ticket from a call counts as FCR only if the same contact or number got
in touch again within the FCR days after the call ended (tickets.report_facts), so a
contact at `at` can undo it for the tickets from that caller's calls that ended in the
days before. Statements built once (a writer runs them for every call) and run with
parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, or_, select, union_all
from sqlalchemy.orm import aliased

from tickets.call_join import OVERFLOWED
from tickets.models import CallRecord, Ticket

FCR_WINDOW = timedelta(days=90)  # the longest FCR setting (Settings.fcr_days le=90)
Key = tuple[int | None, str | None, datetime]  # a contact, a number, when: whose earlier tickets' FCR it can undo


def of_ticket() -> ColumnElement[bool]:
    """A call record and the ticket its call made: same site and Linkedid (tickets.sites)."""
    return and_(CallRecord.linkedid == Ticket.linkedid, CallRecord.site == Ticket.site)


_WINDOW = and_(CallRecord.ended_at >= bindparam("since"), CallRecord.ended_at <= bindparam("until"))

# A ticket's contact key is the ticket's contact (report_data.load_tickets: an agent may name
# the caller after the call), its number key its call's number; a call's keys are the call's.
_NEIGHBOURS = union_all(*(
    select(Ticket.created_at, CallRecord.ended_at, CallRecord.contact_id, Ticket.contact_id, CallRecord.caller_number)
    .join(CallRecord, of_ticket())
    .where(who, _WINDOW)
    for who in (or_(CallRecord.contact_id.in_(bindparam("contacts", expanding=True)),
                    CallRecord.caller_number.in_(bindparam("numbers", expanding=True))),
                Ticket.contact_id.in_(bindparam("contacts", expanding=True)))))


# A key's neighbours one by one (the writer's case: a call's one or two keys); by number
# from the number's previous answered call on: a ticket from a call that ended before
# another contact of the same number is no first-contact resolution already, and stays so
# whatever comes later (tickets.report_facts: any contact within the FCR days after its
# call undoes it; a change to that other call marks its own neighbours). Without the bound
# a number that calls all day (a switchboard's) read every ticket of its FCR days at every
# call. The bound is the only lower one (an index range; when that call is older than the
# window, the few tickets between it and the window are marked needlessly, never missed).
# Of the calls since (at 50 calls/s a few seconds' worth), those another answered call
# followed are left out the same way, in SQL: an index seek each, no row to convert.
_FEW_KEYS = 4
_BY_CONTACT = union_all(*(select(Ticket.created_at).join(CallRecord, of_ticket()).where(who, _WINDOW)
                          for who in (CallRecord.contact_id == bindparam("contact"),
                                      Ticket.contact_id == bindparam("contact"))))


def _answered_of_number(call: Any) -> ColumnElement[bool]:
    """`call` (an alias of call_records) is an answered call of the number: a contact the
    reports count (report_data.load_calls: an outcome, not an overflowed entry leg)."""
    return and_(call.caller_number == bindparam("number"), call.answered_at.is_not(None),
                call.outcome.is_not(None), call.outcome != OVERFLOWED)


_EARLIER = aliased(CallRecord)
_PREVIOUS = (select(func.coalesce(_EARLIER.entered_at, _EARLIER.ended_at))  # when it counted as a contact
             .where(_answered_of_number(_EARLIER), _EARLIER.ended_at < bindparam("until"))
             .order_by(_EARLIER.ended_at.desc()).limit(1).scalar_subquery())
_LATER = aliased(CallRecord)
_ANSWERED_SINCE = (select(_LATER.id)  # another answered call of the number came in after it ended
                   .where(_answered_of_number(_LATER), _LATER.entered_at > CallRecord.ended_at,
                          _LATER.entered_at < bindparam("until")).exists())
_BY_NUMBER = (select(Ticket.created_at).join(CallRecord, of_ticket())  # one lower bound: the index range
              .where(CallRecord.caller_number == bindparam("number"), CallRecord.ended_at <= bindparam("until"),
                     CallRecord.ended_at >= func.coalesce(_PREVIOUS, bindparam("since")), ~_ANSWERED_SINCE))


def neighbours(conn: Connection, keys: Iterable[Key], days: int | None) -> list[datetime]:
    """Created times of tickets from calls by the same contact/number that ended in the FCR
    window before each key (by number: since the number's previous answered call). A few
    keys one by one; more in one query for all keys (per 500), matched per key here."""
    keys = list(set(keys))
    window = FCR_WINDOW if days is None else timedelta(days=days)
    out: list[datetime] = []
    if len(keys) <= _FEW_KEYS:
        for contact, number, at in keys:
            if contact is not None:
                out += conn.scalars(_BY_CONTACT, {"contact": contact, "since": at - window, "until": at})
            if number:
                out += conn.scalars(_BY_NUMBER, {"number": number, "since": at - window, "until": at})
        return out
    for n in range(0, len(keys), 500):
        part = keys[n:n + 500]
        contacts = sorted({c for c, _, _ in part if c is not None})
        numbers = sorted({num for _, num, _ in part if num})
        if not contacts and not numbers:
            continue
        rows = conn.execute(_NEIGHBOURS, {"contacts": contacts, "numbers": numbers,
                                          "since": min(at for _, _, at in part) - window,
                                          "until": max(at for _, _, at in part)}).all()
        for created, ended, contact, ticket_contact, number in rows:
            if ended is not None and any(
                    ((c is not None and c in (contact, ticket_contact)) or (number and number == num))
                    and at - window <= ended <= at for c, num, at in part):
                out.append(created)
    return out
