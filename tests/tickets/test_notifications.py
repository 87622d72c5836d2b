"""Callers' mails: queued with the ticket change in the outbox, sent once by the sender
task to a real SMTP server (an aiosmtpd sink on loopback), in the contact's language;
also when the process that changed the ticket was killed before anything was sent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import select

from agent_console.mail_out import OutboxSender, SmtpTarget
from tests.db_fixture import Sessions
from tests.factories import add_contact, answered_call
from tickets.calls_service import TicketService
from tickets.desk import TicketDesk
from tickets.mail_parse import Ignored, MailLimits, parse_mail
from tickets.models import Contact, Notification, Priority
from tickets.outbox import NoticeConfig, Outbox
from tickets.sla import SlaPolicy

NOTICES = NoticeConfig("hotline.invalid", "Europe/Berlin")
POLICY = SlaPolicy({Priority.NORMAL: 24})


@dataclass
class Sink:
    """A real SMTP server that keeps what it accepts; it answers 451 to the first `refuse` mails."""

    refuse: int = 0
    mails: list[EmailMessage] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        msg = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.mails.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails if m["To"] == address]


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    found = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(found, hostname="sink", ident="sink"), "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    yield found
    server.close()
    await server.wait_closed()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def sender(sessions: Sessions, sink: Sink, clock: Any = None) -> OutboxSender:
    return OutboxSender(Outbox(sessions), SmtpTarget("127.0.0.1", sink.port), "Desk <desk@hotline.invalid>",
                        clock or (lambda: datetime.now(UTC)))


def person(sessions: Sessions, name: str, email: str, language: str) -> int:
    with sessions.begin() as s:
        c = Contact(name=name, email=email, language=language)
        s.add(c)
        s.flush()
        return c.id


async def drain(out: OutboxSender) -> None:
    while await out.pump():
        pass


async def test_created_escalated_resolved_one_mail_each_in_the_contacts_language(
        sessions: Sessions, sink: Sink) -> None:
    desk = TicketDesk(sessions, POLICY, NOTICES)
    erika = person(sessions, "Erika Muster", "erika@stadt.example", "de")
    john = person(sessions, "John Smith", "john@city.example", "en")
    for contact in (erika, john):
        t = desk.create("Drucker druckt nicht", "anna", contact_id=contact)
        desk.escalate(t["id"], 2, "Hardware", "anna")
        desk.update(t["id"], {"status": "resolved", "description": "Toner getauscht."}, "anna")
    out = sender(sessions, sink)
    await drain(out)
    await drain(out)  # nothing is sent twice
    de, en = sink.to("erika@stadt.example"), sink.to("john@city.example")
    assert [m["Subject"].split(":")[0].split("] ")[1] for m in de] == [
        "Ihre Anfrage ist eingegangen", "Ihre Anfrage wurde weitergegeben", "Ihre Anfrage ist erledigt"]
    assert [m["Subject"].split(":")[0].split("] ")[1] for m in en] == [
        "We have received your request", "Your request has been passed on", "Your request has been resolved"]
    assert "We expect to resolve it by" in en[0].get_content() and "level 2" in en[1].get_content()
    assert "Toner getauscht." in de[2].get_content() and "Toner getauscht." in en[2].get_content()
    for m in de + en:
        assert m["Auto-Submitted"] == "auto-generated" and m["Message-ID"].endswith("@hotline.invalid>")
    # a copy coming back (a loop, or an auto-reply quoting it) makes no ticket
    back = parse_mail(de[0].as_bytes(policy=policy.SMTP), "desk@hotline.invalid", MailLimits())
    assert isinstance(back, Ignored)
    with sessions() as s:
        assert {n.status for n in s.scalars(select(Notification))} == {"sent"}


async def test_no_address_or_no_smtp_no_mail(sessions: Sessions) -> None:
    silent = add_contact(sessions, "Ohne Adresse", "+4930111")
    TicketDesk(sessions, POLICY, NOTICES).create("a", "anna", contact_id=silent)
    TicketDesk(sessions, POLICY, None).create("b", "anna", contact_id=person(sessions, "E", "e@x.example", "de"))
    with sessions() as s:
        assert list(s.scalars(select(Notification))) == []


async def test_a_phone_ticket_tells_a_caller_with_an_address(sessions: Sessions, sink: Sink) -> None:
    contact = add_contact(sessions, "Erika Muster", "+4934125385555")
    with sessions.begin() as s:
        s.get_one(Contact, contact).email = "erika@stadt.example"
    service = TicketService(sessions, POLICY, notices=NOTICES)
    for update in answered_call("+4934125385555") * 2:  # a replayed call: still one mail
        service.handle(update)
    await drain(sender(sessions, sink))
    [mail] = sink.mails
    # the automatic subject is in the contact's language (German when none is set)
    assert mail["Subject"].startswith("[#") and "Anruf von" in mail["Subject"]


KILLED = """
import os, signal
from tickets.db import make_engine, session_factory
from tickets.desk import TicketDesk
from tickets.models import Contact, Priority
from tickets.outbox import NoticeConfig
from tickets.sla import SlaPolicy
db = session_factory(make_engine({url!r}))
with db() as s:
    contact = s.query(Contact).filter_by(email="erika@stadt.example").one().id
TicketDesk(db, SlaPolicy({{Priority.NORMAL: 24}}), NoticeConfig()).create("Drucker", "anna", contact_id=contact)
os.kill(os.getpid(), signal.SIGKILL)  # killed between creating the ticket and sending its mail
"""


async def test_killed_after_creating_before_sending_the_mail_still_goes_once(
        sessions: Sessions, sink: Sink) -> None:
    person(sessions, "Erika Muster", "erika@stadt.example", "de")
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", KILLED.format(url=url)], check=False)
    assert done.returncode == -9
    await drain(sender(sessions, sink))
    await drain(sender(sessions, sink))
    assert len(sink.to("erika@stadt.example")) == 1


async def test_a_sender_that_died_mid_send_is_taken_over_after_its_lease_once(
        sessions: Sessions, sink: Sink) -> None:
    desk = TicketDesk(sessions, POLICY, NOTICES)
    desk.create("Drucker", "anna", contact_id=person(sessions, "E", "e@stadt.example", "de"))
    clock = Clock()
    assert len(Outbox(sessions).claim(clock())) == 1  # claimed by a sender that then died
    await drain(sender(sessions, sink, clock))
    assert sink.mails == []  # its lease still runs
    clock.now += timedelta(minutes=3)
    await drain(sender(sessions, sink, clock))
    assert len(sink.mails) == 1


async def test_two_senders_at_once_send_every_mail_once(sessions: Sessions, sink: Sink) -> None:
    desk = TicketDesk(sessions, POLICY, NOTICES)
    contact = person(sessions, "E", "e@stadt.example", "en")
    for i in range(12):
        desk.create(f"Anfrage {i}", "anna", contact_id=contact)
    await asyncio.gather(drain(sender(sessions, sink)), drain(sender(sessions, sink)))
    subjects = [m["Subject"] for m in sink.mails]
    assert len(subjects) == 12 == len(set(subjects))


async def test_a_refusal_is_retried_with_backoff(sessions: Sessions, sink: Sink) -> None:
    TicketDesk(sessions, POLICY, NOTICES).create("Drucker", "anna",
                                                 contact_id=person(sessions, "E", "e@stadt.example", "de"))
    sink.refuse, clock = 2, Clock()
    out = sender(sessions, sink, clock)
    await drain(out)
    with sessions() as s:
        row = s.scalars(select(Notification)).one()
    assert (row.status, row.attempts, row.next_attempt_at - clock.now) == ("pending", 1, timedelta(seconds=5))
    assert "451" in row.last_error
    clock.now += timedelta(seconds=5)
    await drain(out)
    clock.now += timedelta(seconds=10)
    await drain(out)
    with sessions() as s:
        row = s.scalars(select(Notification)).one()
    assert (row.status, row.attempts, len(sink.mails)) == ("sent", 3, 1)


def test_a_bad_smtp_url_names_the_setting() -> None:
    with pytest.raises(ValueError, match="HOTLINE_SMTP_URL"):
        SmtpTarget.parse("mail.example.org:25")
    assert SmtpTarget.parse("smtps://u%40x:p@mail.example.org") == SmtpTarget("mail.example.org", 465, True,
                                                                              "u@x", "p")
