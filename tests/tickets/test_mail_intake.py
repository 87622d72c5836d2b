"""Mail in, end to end over a real socket: an aiosmtpd listener on a free port
(the one `hotline serve` runs), real mail sent with smtplib, tickets read back
from the database (SQLite, or PostgreSQL with HOTLINE_TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from agent_console.mail_in import ListenAddress, MailHandler, MailListener, limits_of
from tests.db_fixture import Sessions
from tickets.intake import IntakeService
from tickets.models import Attachment, Channel, Contact, Organisation, Priority, Ticket, TicketMessage, TicketStatus
from tickets.sla import SlaPolicy

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n" + b"x" * 2000


@pytest.fixture
async def listener(sessions: Sessions) -> AsyncIterator[MailListener]:
    intake = IntakeService(sessions, SlaPolicy({Priority.NORMAL: 24}))
    handler = MailHandler(intake, limits_of(50_000, "", "hotline.invalid"), lambda: NOW)
    mail = MailListener(ListenAddress.parse("127.0.0.1:0"), handler, max_bytes=200_000, hostname="hotline")
    await mail.start()
    yield mail
    await mail.close()


def _send_now(port: int, data: bytes, mail_from: str) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail(mail_from)
        smtp.rcpt("helpdesk@example.org")
        try:
            code, reply = smtp.data(data)
        except smtplib.SMTPDataError as exc:
            code, reply = exc.smtp_code, exc.smtp_error
        return code, reply.decode()


async def send(mail: MailListener, data: bytes | EmailMessage,
               mail_from: str = "erika@stadt.example") -> tuple[int, str]:
    raw = data.as_bytes(policy=policy.SMTP) if isinstance(data, EmailMessage) else data
    return await asyncio.to_thread(_send_now, mail.port, raw, mail_from)


def message(subject: str, body: str = "Der Drucker druckt nicht.", sender: str = "Erika Muster <erika@stadt.example>",
            message_id: str | None = None, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "helpdesk@example.org", subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def contact(sessions: Sessions, email: str, org: str = "Stadt") -> tuple[int, int]:
    with sessions.begin() as s:
        organisation = s.scalars(select(Organisation).where(Organisation.name == org)).first() or Organisation(name=org)
        s.add(organisation)
        s.flush()
        person = Contact(name="Erika Muster", email=email, organisation_id=organisation.id)
        s.add(person)
        s.flush()
        return person.id, organisation.id


def tickets(sessions: Sessions) -> list[Ticket]:
    with sessions() as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


def count(sessions: Sessions, table: type[TicketMessage] | type[Attachment]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


async def test_mail_from_a_known_contact_makes_a_linked_ticket_with_its_attachment(
        listener: MailListener, sessions: Sessions) -> None:
    erika, stadt = contact(sessions, "Erika@Stadt.example")
    msg = message("Drucker im 2. OG", message_id="<a1@stadt.example>")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="fehler.pdf")
    code, reply = await send(listener, msg)
    assert code == 250 and "new ticket 2026-" in reply, reply
    [ticket] = tickets(sessions)
    assert (ticket.channel, ticket.contact_id, ticket.organisation_id) == (Channel.EMAIL, erika, stadt)
    assert ticket.subject == "Drucker im 2. OG" and "druckt nicht" in ticket.description
    assert ticket.number in reply
    with sessions() as s:
        [att] = s.scalars(select(Attachment))
        [msg_row] = s.scalars(select(TicketMessage))
    assert (att.filename, att.content_type, att.data) == ("fehler.pdf", "application/pdf", PDF)
    assert att.ticket_id == ticket.id
    assert (msg_row.message_id, msg_row.sender, msg_row.sender_name) == (
        "<a1@stadt.example>", "erika@stadt.example", "Erika Muster")


async def test_replies_by_number_or_in_reply_to_join_the_same_ticket_and_reopen_it(
        listener: MailListener, sessions: Sessions) -> None:
    await send(listener, message("Drucker", message_id="<first@stadt.example>"))
    [ticket] = tickets(sessions)
    with sessions.begin() as s:
        s.get(Ticket, ticket.id).status = TicketStatus.RESOLVED  # type: ignore[union-attr]
    code, reply = await send(listener, message(f"AW: Drucker [#{ticket.number}]", "Geht wieder nicht."))
    assert code == 250 and f"added to ticket {ticket.number}" in reply
    code, reply = await send(listener, message("Re: Drucker", "Noch was.", In_Reply_To="<first@stadt.example>"))
    assert code == 250 and ticket.number in reply
    [again] = tickets(sessions)
    assert again.status == TicketStatus.OPEN and count(sessions, TicketMessage) == 3


async def test_the_same_mail_delivered_twice_is_stored_once(listener: MailListener, sessions: Sessions) -> None:
    msg = message("Drucker", message_id="<twice@stadt.example>")
    first, second = await send(listener, msg), await send(listener, msg)
    assert first[0] == second[0] == 250
    assert len(tickets(sessions)) == 1 and count(sessions, TicketMessage) == 1


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied"},
    {"Precedence": "bulk"},
    {"X_Autoreply": "yes"},
    {"Message_ID": "<notify-1@hotline.invalid>"},
])
async def test_auto_replies_bulk_and_our_own_mail_make_nothing(
        listener: MailListener, sessions: Sessions, headers: dict[str, str]) -> None:
    message_id = headers.pop("Message_ID", None)
    code, reply = await send(listener, message("Abwesenheitsnotiz: Drucker", message_id=message_id, **headers))
    assert code == 250 and "no ticket" in reply
    assert tickets(sessions) == [] and count(sessions, TicketMessage) == 0


async def test_a_bounce_with_a_null_sender_makes_nothing(listener: MailListener, sessions: Sessions) -> None:
    code, _reply = await send(listener, message("Undeliverable"), mail_from="")
    assert code == 250 and tickets(sessions) == []


MALFORMED = (b"From: erika@stadt.example\r\nSubject: kaputt\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\nno boundary ever comes\r\n")
EIGHT_BIT = "From: erika@stadt.example\r\nSubject: Drucker läuft nicht\r\n\r\nText\r\n".encode()


@pytest.mark.parametrize(("data", "code", "words"), [
    (MALFORMED, 550, "5.6.0 malformed MIME structure"),
    (EIGHT_BIT, 550, "5.6.7 8-bit characters in a header"),
    (b"\r\n\r\njust a body\r\n", 550, "5.6.0 malformed message: no header"),
])
async def test_malformed_mail_gets_a_5xx_with_the_reason(listener: MailListener, sessions: Sessions,
                                                         data: bytes, code: int, words: str) -> None:
    got_code, reply = await send(listener, data)
    assert got_code == code and reply.startswith(words)
    assert tickets(sessions) == []


async def test_too_large_or_refused_attachments_get_a_5xx_and_store_nothing(
        listener: MailListener, sessions: Sessions) -> None:
    big = message("Logdatei")
    big.add_attachment(b"x" * 60_000, maintype="application", subtype="pdf", filename="gross.pdf")
    code, reply = await send(listener, big)
    assert code == 552 and "5.3.4 attachment 'gross.pdf' is 60,000 bytes; at most 50,000" in reply
    exe = message("Tool")
    exe.add_attachment(b"MZ...", maintype="application", subtype="x-msdownload", filename="tool.exe")
    code, reply = await send(listener, exe)
    assert code == 550 and "5.7.1 attachment 'tool.exe': type application/x-msdownload is not accepted" in reply
    huge = message("Riesig", "y" * 250_000)
    code, reply = await send(listener, huge)
    assert code == 552  # aiosmtpd's data_size_limit, before anything is parsed
    assert tickets(sessions) == [] and count(sessions, Attachment) == 0


async def test_html_mail_becomes_text_and_an_unknown_address_gets_its_domains_organisation(
        listener: MailListener, sessions: Sessions) -> None:
    _erika, stadt = contact(sessions, "erika@stadt.example")
    msg = message("Bildschirm", sender="Hans <hans@stadt.example>")
    msg.set_content("<p>Bildschirm <b>flackert</b></p><script>alert(1)</script>", subtype="html")
    code, _reply = await send(listener, msg)
    assert code == 250
    [ticket] = tickets(sessions)
    assert (ticket.contact_id, ticket.organisation_id) == (None, stadt)
    assert ticket.description == "Bildschirm flackert"


async def test_lmtp_works_the_same(sessions: Sessions) -> None:
    intake = IntakeService(sessions, SlaPolicy({}))
    handler = MailHandler(intake, limits_of(50_000, "", "hotline.invalid"), lambda: NOW)
    mail = MailListener(ListenAddress.parse("lmtp:127.0.0.1:0"), handler, max_bytes=200_000, hostname="hotline")
    await mail.start()
    try:
        def deliver() -> dict[str, tuple[int, bytes]]:
            with smtplib.LMTP("127.0.0.1", mail.port) as lmtp:
                return lmtp.sendmail("erika@stadt.example", ["desk@example.org"],
                                     message("Per LMTP").as_bytes(policy=policy.SMTP))
        assert await asyncio.to_thread(deliver) == {}
        assert [t.subject for t in tickets(sessions)] == ["Per LMTP"]
    finally:
        await mail.close()


@pytest.mark.parametrize("bad", ["2525", "host:", "host:99999", "lmtp:"])
def test_a_bad_listen_address_names_the_setting(bad: str) -> None:
    with pytest.raises(ValueError, match="HOTLINE_MAIL_LISTEN"):
        ListenAddress.parse(bad)


async def test_a_database_that_does_not_answer_is_a_451_and_the_mta_tries_again(tmp_path: Any) -> None:
    from tickets.db import make_engine, session_factory

    engine = make_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'hotline.db'}")
    handler = MailHandler(IntakeService(session_factory(engine), SlaPolicy({})),
                          limits_of(50_000, "", "hotline.invalid"), lambda: NOW)
    mail = MailListener(ListenAddress.parse("127.0.0.1:0"), handler, max_bytes=200_000, hostname="hotline")
    await mail.start()
    try:
        code, reply = await send(mail, message("Drucker"))
    finally:
        await mail.close()
        engine.dispose()
    assert code == 451 and reply.startswith("4.3.0")


async def test_connections_over_the_limit_get_421_and_a_freed_slot_takes_mail_again(sessions: Sessions) -> None:
    intake = IntakeService(sessions, SlaPolicy({Priority.NORMAL: 24}))
    handler = MailHandler(intake, limits_of(50_000, "", "hotline.invalid"), lambda: NOW)
    mail = MailListener(ListenAddress.parse("127.0.0.1:0"), handler, max_bytes=200_000, hostname="hotline",
                        max_connections=3)
    await mail.start()
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(3):  # three idle sessions fill the listener
            reader, writer = await asyncio.open_connection("127.0.0.1", mail.port)
            assert (await reader.readline()).startswith(b"220 ")
            held.append((reader, writer))
        for _ in range(2):  # every one more is turned away, and closed
            reader, writer = await asyncio.open_connection("127.0.0.1", mail.port)
            assert await reader.readline() == b"421 4.3.2 too many connections, try again later\r\n"
            assert await reader.read() == b""
            writer.close()
        assert (mail.open, mail.refused) == (3, 2)
        with pytest.raises(smtplib.SMTPConnectError) as refused:  # smtplib sees it as a client does
            await send(mail, message("Noch da?"))
        assert refused.value.smtp_code == 421
        _reader, first = held.pop(0)
        first.write(b"QUIT\r\n")
        assert (await _reader.read()).startswith(b"221")
        first.close()
        await first.wait_closed()
        async with asyncio.timeout(5):  # the listener has seen the session end
            while mail.open > 2:  # noqa: ASYNC110  (a counter, no event to wait on; a few loop turns)
                await asyncio.sleep(0.01)
        code, reply = await send(mail, message("Drucker defekt"))
        assert code == 250 and reply.startswith("2.0.0 new ticket"), reply
        assert [t.subject for t in tickets(sessions)] == ["Drucker defekt"]
    finally:
        for _reader, writer in held:
            writer.close()
        await mail.close()
