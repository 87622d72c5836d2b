"""What a report is computed from: one fact per call, ticket and callback, and the
automatic first-contact-resolution (FCR) rule.

Layer: domain, pure (no I/O, no clock). Must not import agent_console. The facts
carry the attributes a report groups by under the same names (queue,
organisation, team, channel, category, level, language, site, partner, agent) and `at`, the
time the hour-of-day and weekday groups are taken from.

FCR, measured automatically (FCR_DEFINITION is printed on the report page): a
ticket made from an answered call counts when
1. it was resolved during the call or within `after_call_minutes` of its end;
2. the same contact, or the same number when the caller is not a known contact,
   did not call again (short abandons aside) or open another ticket, and nobody
   wrote on that ticket, within `days` days after the call ended; hotline cannot
   tell what a new contact is about, so any new contact counts as a repeat;
3. it was never reopened (resolved or closed, then set back to new/open/pending).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

FCR_DAYS_DEFAULT = 7
FCR_AFTER_CALL_MINUTES = 15


@dataclass(frozen=True, slots=True)
class FcrRule:
    days: int = FCR_DAYS_DEFAULT
    after_call_minutes: int = FCR_AFTER_CALL_MINUTES

    def definition(self) -> dict[str, str]:
        return {
            "en": (f"A ticket from an answered call counts as solved at first contact when it was resolved "
                   f"during the call or within {self.after_call_minutes} minutes after it, the same contact "
                   f"(or number) did not call again, open another ticket or write on it within {self.days} "
                   f"days, and it was never reopened. Short abandons (misdials) are not repeat calls."),
            "de": (f"Ein Ticket aus einem angenommenen Anruf gilt als beim Erstkontakt gelöst, wenn es während "
                   f"des Anrufs oder bis {self.after_call_minutes} Minuten danach gelöst wurde, derselbe "
                   f"Kontakt (oder dieselbe Nummer) innerhalb von {self.days} Tagen weder erneut anrief, ein "
                   f"weiteres Ticket eröffnete noch dazu schrieb, und es nie wieder geöffnet wurde. Kurze "
                   f"Abbrüche (Verwählen) zählen nicht als erneuter Anruf."),
        }


@dataclass(frozen=True, slots=True)
class CallFact:
    linkedid: str
    at: datetime  # entered the queue
    outcome: str
    wait_seconds: float
    talk_seconds: float
    answered: bool
    queue: str
    agent: str  # "" when nobody answered
    number: str  # E.164, "" when withheld
    contact_id: int | None
    organisation: str
    team: str
    language: str
    category: str  # of the call's ticket, "" without one
    level: str  # of the call's ticket, "" without one
    channel: str = "phone"
    site: str = "main"  # the entry site (tickets.sites)
    partner: str = ""  # the answering agent's (their user's partner), "" when nobody answered


@dataclass(frozen=True, slots=True)
class TicketFact:
    id: int
    at: datetime  # created
    channel: str
    category: str
    level: str
    priority: str
    team: str
    organisation: str
    language: str
    queue: str  # its call's queue, "" for tickets that did not come from a call
    agent: str  # its call's agent (the FCR is theirs), "" otherwise
    contact_id: int | None
    number: str  # its call's caller number, ""
    call_ended_at: datetime | None  # set for tickets made from an answered call
    due_at: datetime | None
    first_resolved_at: datetime | None
    resolved_at: datetime | None  # the last time it became resolved/closed, when it is done now
    reopened: bool
    manual_fcr: bool  # the agent's checkbox
    messages: tuple[datetime, ...] = ()  # mails/form entries on it
    csat: int | None = None  # the caller's post-call survey answer, 1-5
    site: str = "main"  # its call's entry site (mail, form: "main")
    partner: str = ""  # its call's answering agent's partner, "" otherwise


@dataclass(frozen=True, slots=True)
class CallbackFact:
    at: datetime  # the first call it stands for
    done: bool
    queue: str
    organisation: str
    team: str
    language: str
    channel: str = "phone"
    category: str = ""
    level: str = ""
    agent: str = ""
    site: str = "main"
    partner: str = ""  # nobody answered the call it stands for


Key = tuple[str, object]


def contact_keys(contact_id: int | None, number: str) -> list[Key]:
    keys: list[Key] = []
    if contact_id is not None:
        keys.append(("contact", contact_id))
    if number:
        keys.append(("number", number))
    return keys


def contact_times(calls: Iterable[CallFact], tickets: Iterable[TicketFact],
                  short_abandon: float) -> dict[Key, list[datetime]]:
    """When each contact (and each number) got in touch again: calls that were not
    short abandons, and tickets that did not come from a call. Sorted per key."""
    times: dict[Key, list[datetime]] = defaultdict(list)
    for c in calls:
        if c.outcome == "abandoned" and not c.answered and c.wait_seconds < short_abandon:
            continue
        for key in contact_keys(c.contact_id, c.number):
            times[key].append(c.at)
    for t in tickets:
        if t.call_ended_at is None and t.contact_id is not None:
            times[("contact", t.contact_id)].append(t.at)
    for found in times.values():
        found.sort()
    return dict(times)


def _any_within(times: Sequence[datetime], after: datetime, until: datetime) -> bool:
    i = bisect.bisect_right(times, after)
    return i < len(times) and times[i] <= until


def first_contact_resolved(t: TicketFact, rule: FcrRule, times: Mapping[Key, Sequence[datetime]]) -> bool:
    """The rule in the module docstring, for one ticket made from a call."""
    if t.call_ended_at is None or t.first_resolved_at is None or t.reopened:
        return False
    if t.first_resolved_at > t.call_ended_at + timedelta(minutes=rule.after_call_minutes):
        return False
    until = t.call_ended_at + timedelta(days=rule.days)
    if any(t.call_ended_at < m <= until for m in t.messages):
        return False
    return not any(_any_within(times.get(k, ()), t.call_ended_at, until)
                   for k in contact_keys(t.contact_id, t.number))
