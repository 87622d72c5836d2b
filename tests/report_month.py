"""A known month (November 2026, Europe/Berlin = UTC+1 all month) of calls, tickets,
repeat calls, reopenings and escalations, written straight into the database, and
the figures a person computed from it by hand (the comments show the sums).

Used by tests/console/test_reports_api.py and the reports browser test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tickets.models import (
    Callback,
    CallbackStatus,
    CallRecord,
    Channel,
    Contact,
    Organisation,
    Priority,
    Ticket,
    TicketHistory,
    TicketMessage,
    TicketStatus,
)

AS_OF = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # after the month and its 7 FCR days: FCR is final
TARGET_HOURS = {"critical": 4, "high": 8, "normal": 24, "low": 72}  # the Settings defaults


def t(day: int, hh: int, mm: int = 0, ss: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hh, mm, ss, tzinfo=UTC)


# linkedid, contact ("C1".."C3" or a number), queue, entered (UTC), outcome, wait, talk, agent
CALLS: list[tuple[str, str, str, datetime, str, int, int, str]] = [
    ("L1", "C1", "hotline", t(2, 8), "answered", 10, 300, "PJSIP/1001"),
    ("L2", "C2", "hotline", t(3, 9), "answered", 30, 200, "PJSIP/1002"),
    ("L3", "C2", "hotline", t(5, 10), "answered", 20, 100, "PJSIP/1003"),  # C2 calls again: T2 not FCR
    ("L4", "C3", "hotline", t(10, 12), "answered", 5, 600, "PJSIP/1004"),
    ("L5", "+4930111", "hotline", t(12, 14), "answered", 40, 120, "PJSIP/1005"),
    ("L6", "+4930111", "hotline", t(25, 14), "answered", 15, 60, "PJSIP/1001"),  # 13 days after L5
    ("L7", "C1", "hotline", t(14, 8), "abandoned", 60, 0, ""),
    ("L8", "+4930999", "hotline", t(15, 9), "abandoned", 3, 0, ""),  # short abandon
    ("L9", "C3", "hotline", t(16, 10), "timeout", 300, 0, ""),
    ("L10", "C1", "hotline", t(20, 16), "answered", 26, 240, "PJSIP/1002"),
    ("L11", "C3", "hotline", t(30, 22, 30), "answered", 25, 100, "PJSIP/1003"),  # 23:30 local, 30 Nov
    ("L12", "+4930111", "hotline", t(13, 9), "abandoned", 3, 0, ""),  # short: no repeat for L5
    ("L13", "C2", "vip", t(18, 10), "answered", 8, 90, "PJSIP/1001"),  # one agent: its group suppressed
    ("L14", "C1", "hotline", t(31, 22, 59, month=10), "answered", 5, 50, "PJSIP/1001"),  # 31 Oct 23:59 local
    ("L15", "+4930777", "hotline", t(30, 23), "abandoned", 50, 0, ""),  # 1 Dec 00:00 local
]

# number, linkedid or None, contact or org ("O2"), channel, category, priority, created, status changes
# [(at, old, new)], level changes [(at, new level)], manual FCR box, final status
TICKETS: list[dict[str, Any]] = [
    dict(n=1, call="L1", who="C1", channel="phone", cat="printer", prio="normal", manual=True, csat=5,
         status=[(t(2, 8, 6), "new", "resolved")]),
    dict(n=2, call="L2", who="C2", channel="phone", cat="mail", prio="high", manual=True, csat=3,
         status=[(t(3, 9, 4), "new", "resolved")]),
    dict(n=3, call="L3", who="C2", channel="phone", cat="mail", prio="normal",
         status=[(t(6, 10), "new", "resolved")]),  # the next day: not during/right after the call
    dict(n=4, call="L4", who="C3", channel="phone", cat="printer", prio="normal",
         status=[(t(10, 12, 12), "new", "resolved"), (t(12, 8), "resolved", "open"),
                 (t(13, 12), "open", "resolved")], levels=[(t(12, 9), 2)]),  # reopened, escalated
    dict(n=5, call="L5", who="+4930111", channel="phone", cat="", prio="normal", manual=True, csat=4,
         status=[(t(12, 14, 3), "new", "resolved")]),
    dict(n=6, call="L6", who="+4930111", channel="phone", cat="network", prio="critical",
         status=[(t(25, 14, 2), "new", "resolved")], messages=[t(28, 9)]),  # the caller wrote again
    dict(n=7, call="L10", who="C1", channel="phone", cat="printer", prio="low", status=[]),
    dict(n=8, call="L11", who="C3", channel="phone", cat="network", prio="normal",
         status=[(t(30, 22, 33), "new", "resolved")]),  # C3 mails again on 3 Dec (ticket 10)
    dict(n=9, at=t(6, 8), who="C2", channel="email", cat="mail", prio="normal",
         status=[(t(6, 12), "new", "resolved")]),
    dict(n=10, at=t(3, 9, month=12), who="C3", channel="email", cat="network", prio="normal", status=[]),
    dict(n=11, at=t(19, 10), who="O2", channel="form", cat="account", prio="high",
         status=[(t(19, 11), "new", "open"), (t(20, 10), "open", "resolved")],
         levels=[(t(19, 11), 2), (t(19, 12), 3)]),
    dict(n=12, at=t(21, 9), who="C3", channel="fax", cat="printer", prio="low", status=[]),
]

# callbacks: the first call each stands for, done?
CALLBACKS = [("L7", True), ("L9", False)]


def _call(linkedid: str) -> tuple[str, str, str, datetime, str, int, int, str]:
    return next(c for c in CALLS if c[0] == linkedid)


def seed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        werke = Organisation(name="Stadtwerke", team="Werke", language="de")
        schule = Organisation(name="Schule Nord", team="Schulen", language="en")
        s.add_all([werke, schule])
        s.flush()
        people = {"C1": Contact(name="Anke Berg", organisation_id=werke.id, team="Werke", language="de"),
                  "C2": Contact(name="Ben Cole", organisation_id=schule.id, team="Schulen", language="en"),
                  "C3": Contact(name="Cem Dal", organisation_id=werke.id, team="Werke", language="de")}
        s.add_all(people.values())
        s.flush()
        records = {}
        for linkedid, who, queue, entered, outcome, wait, talk, agent in CALLS:
            answered = entered + timedelta(seconds=wait) if outcome == "answered" else None
            ended = (answered + timedelta(seconds=talk)) if answered else entered + timedelta(seconds=wait)
            contact = people.get(who)
            number = f"+4930{int(who[1:]):04d}" if contact else who
            records[linkedid] = CallRecord(
                linkedid=linkedid, caller_number=number, caller_raw=number,
                contact_id=contact.id if contact else None, queue=queue, entered_at=entered, answered_at=answered,
                ended_at=ended, wait_seconds=float(wait), talk_seconds=float(talk) if answered else None,
                duration_seconds=(ended - entered).total_seconds(), agent=agent or None, outcome=outcome)
        s.add_all(records.values())
        s.flush()
        for spec in TICKETS:
            _ticket(s, spec, people, schule.id, records)
        for linkedid, done in CALLBACKS:
            rec = records[linkedid]
            assert rec.entered_at is not None
            s.add(Callback(caller_number=rec.caller_number or "", contact_id=rec.contact_id, queue=rec.queue,
                           reason=rec.outcome or "", first_call_at=rec.entered_at, last_call_at=rec.entered_at,
                           status=CallbackStatus.DONE if done else CallbackStatus.OPEN))


def _ticket(s: Session, spec: dict[str, Any], people: dict[str, Contact], org_id: int,
            records: dict[str, CallRecord]) -> None:
    rec = records.get(spec.get("call", ""))
    created = rec.answered_at if rec is not None else spec["at"]
    assert created is not None
    status = TicketStatus(spec["status"][-1][2]) if spec["status"] else TicketStatus.NEW
    levels = spec.get("levels", [])
    contact = people.get(spec["who"])
    ticket = Ticket(number=f"2026-{spec['n']:06d}", subject=f"ticket {spec['n']}", status=status,
                    priority=Priority(spec["prio"]), level=levels[-1][1] if levels else 1,
                    category=spec["cat"], channel=Channel(spec["channel"]),
                    first_contact_resolution=spec.get("manual", False), csat=spec.get("csat"),
                    contact_id=contact.id if contact else None,
                    organisation_id=org_id if spec["who"] == "O2" else None,
                    linkedid=rec.linkedid if rec is not None else None,
                    due_at=created + timedelta(hours=TARGET_HOURS[spec["prio"]]),
                    created_at=created, updated_at=created)
    s.add(ticket)
    s.flush()
    if rec is not None:
        rec.ticket_id = ticket.id
    s.add(TicketHistory(ticket_id=ticket.id, at=created, actor="test", field="created", new=ticket.number))
    for at, old, new in spec["status"]:
        s.add(TicketHistory(ticket_id=ticket.id, at=at, actor="test", field="status", old=old, new=new))
    previous = 1
    for at, level in levels:
        s.add(TicketHistory(ticket_id=ticket.id, at=at, actor="test", field="level", old=str(previous),
                            new=str(level), note="needs level " + str(level)))
        previous = level
    for n, at in enumerate(spec.get("messages", [])):
        s.add(TicketMessage(ticket_id=ticket.id, channel=Channel.EMAIL, message_id=f"<m{spec['n']}-{n}@test>",
                            sender="caller@example.org", subject="again", body="still broken", received_at=at))
