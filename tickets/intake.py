"""Intake: a parsed mail (or form entry) becomes a new ticket or joins the one it answers.

Layer: service (sync, SQLAlchemy; run it off the event loop). Must not import
agent_console or aiosmtpd. Everything of one message (ticket, message row,
attachments, history) is written in one transaction: when `store_mail` returns,
it is durable; when it raises, nothing of it was kept.

- A reply joins a ticket when its subject carries the ticket's number
  (`[#2026-000123]`) or its In-Reply-To / References name a message already on a
  ticket. A resolved or closed ticket that gets a reply is opened again.
- A new ticket is linked to the contact with the sender's address (exactly one
  contact has it); else, when every contact of the sender's domain belongs to
  one organisation, to that organisation.
- A Message-ID already stored (the MTA delivered the mail again because it did
  not see our 250) is not stored twice: the answer names the ticket it is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cti.callerid import NumberKind, normalize
from tickets.desk import add_ticket
from tickets.lookup import MatchStatus, rank
from tickets.mail_parse import AttachmentIn, MailIntake
from tickets.models import (
    Attachment,
    Channel,
    Contact,
    Notification,
    Ticket,
    TicketHistory,
    TicketMessage,
    TicketStatus,
)
from tickets.outbox import NoticeConfig, enqueue
from tickets.sla import DONE, SlaPolicy

MAX_DESCRIPTION = 20_000  # the desk's limit for a ticket's description


@dataclass(frozen=True, slots=True)
class Stored:
    ticket_id: int
    ticket_number: str
    created: bool  # False: the message joined an existing ticket
    duplicate: bool = False  # the message was stored before (same Message-ID)


@dataclass(frozen=True, slots=True)
class Entry:
    """What a message brings, whatever its channel."""

    channel: Channel
    sender: str
    sender_name: str
    subject: str
    text: str
    message_id: str | None = None
    references: tuple[str, ...] = ()
    ticket_number: str | None = None
    attachments: tuple[AttachmentIn, ...] = ()
    phone: str | None = None  # a fax's caller ID: the contact is found by number, not by address

    @classmethod
    def of_mail(cls, mail: MailIntake) -> Entry:
        return cls(Channel.EMAIL, mail.sender, mail.sender_name, mail.subject, mail.text, mail.message_id,
                   tuple(dict.fromkeys(mail.in_reply_to + mail.references)), mail.ticket_number, mail.attachments)


class IntakeService:
    def __init__(self, sessions: sessionmaker[Session], policy: SlaPolicy,
                 notices: NoticeConfig | None = None, region: str = "DE") -> None:
        self.sessions, self.policy, self.notices, self.region = sessions, policy, notices, region

    def store_mail(self, mail: MailIntake, now: datetime) -> Stored:
        return self.store(Entry.of_mail(mail), now)

    def store(self, entry: Entry, now: datetime) -> Stored:
        try:
            with self.sessions.begin() as s:
                return self._store(s, entry, now)
        except IntegrityError:  # the same Message-ID stored by a concurrent delivery
            with self.sessions() as s:
                known = self._known(s, entry.message_id)
            if known is None:
                raise
            return known

    def _store(self, s: Session, entry: Entry, now: datetime) -> Stored:
        known = self._known(s, entry.message_id)
        if known is not None:
            return known
        actor = f"{entry.channel.value}:{entry.sender}"[:100]
        ticket = self._thread(s, entry)
        created = ticket is None
        if ticket is None:
            contact_id, organisation_id = (self._caller(s, entry.phone) if entry.phone is not None
                                           else self._contact(s, entry.sender))
            values: dict[str, Any] = {"subject": entry.subject or "(no subject)", "contact_id": contact_id,
                                      "description": entry.text[:MAX_DESCRIPTION]}
            ticket = add_ticket(s, self.policy, values, entry.channel, actor, now)
            ticket.organisation_id = organisation_id
            enqueue(s, ticket, "created", now, self.notices)
        else:
            self._reply(s, ticket, entry, actor, now)
        message = TicketMessage(ticket_id=ticket.id, channel=entry.channel, message_id=entry.message_id,
                                references=" ".join(entry.references)[:10_000], sender=entry.sender,
                                sender_name=entry.sender_name, subject=entry.subject, body=entry.text,
                                received_at=now)
        s.add(message)
        s.flush()
        for a in entry.attachments:
            s.add(Attachment(message_id=message.id, ticket_id=ticket.id, filename=a.filename,
                             content_type=a.content_type, size=len(a.data), data=a.data))
        return Stored(ticket.id, ticket.number, created)

    @staticmethod
    def _known(s: Session, message_id: str | None) -> Stored | None:
        if not message_id:
            return None
        row = s.execute(select(Ticket.id, Ticket.number).join(TicketMessage, TicketMessage.ticket_id == Ticket.id)
                        .where(TicketMessage.message_id == message_id)).first()
        return Stored(row.id, row.number, created=False, duplicate=True) if row else None

    @staticmethod
    def _thread(s: Session, entry: Entry) -> Ticket | None:
        if entry.ticket_number:
            found = s.scalars(select(Ticket).where(Ticket.number == entry.ticket_number)).first()
            if found is not None:
                return found
        if entry.references:
            ticket_id = s.scalars(select(TicketMessage.ticket_id)
                                  .where(TicketMessage.message_id.in_(entry.references[:50]))).first()
            if ticket_id is not None:
                return s.get(Ticket, ticket_id)
        return None

    def _caller(self, s: Session, raw: str) -> tuple[int | None, int | None]:
        """(contact, organisation) of a caller number: the one contact or organisation it matches."""
        n = normalize(raw, self.region)
        key = n.e164 or n.extension
        if n.kind is NumberKind.WITHHELD or key is None:
            return None, None
        status, candidates = rank(s, key, e164=n.e164 is not None)
        if status is not MatchStatus.KNOWN:
            return None, None
        return candidates[0].contact_id, candidates[0].organisation_id

    @staticmethod
    def _contact(s: Session, address: str) -> tuple[int | None, int | None]:
        """(contact, organisation) of an address: one contact with it, else the one
        organisation all contacts of its domain belong to, else nothing."""
        address = address.lower()
        rows = s.execute(select(Contact.id, Contact.organisation_id)
                         .where(func.lower(Contact.email) == address).limit(2)).all()
        if len(rows) == 1:
            return rows[0].id, rows[0].organisation_id
        domain = address.rpartition("@")[2]
        orgs = s.scalars(select(Contact.organisation_id).distinct()
                         .where(func.lower(Contact.email).like(f"%@{_like(domain)}", escape="\\")).limit(2)).all()
        return None, orgs[0] if len(orgs) == 1 else None

    @staticmethod
    def _reply(s: Session, ticket: Ticket, entry: Entry, actor: str, now: datetime) -> None:
        s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=actor, field="message",
                            new=entry.message_id or "", note=entry.subject))
        if ticket.status in DONE:
            s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=actor, field="status",
                                old=ticket.status.value, new="open", note="reply received"))
            ticket.status = TicketStatus.OPEN
        ticket.updated_at = now


def message_dict(m: TicketMessage, attachments: list[Attachment]) -> dict[str, Any]:
    return {"id": m.id, "channel": m.channel.value, "message_id": m.message_id, "sender": m.sender,
            "sender_name": m.sender_name, "subject": m.subject, "body": m.body,
            "received_at": m.received_at.isoformat(),
            "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
                            for a in attachments]}


def notification_dict(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "to_address": n.to_address, "language": n.language, "subject": n.subject,
            "body": n.body, "status": n.status, "attempts": n.attempts, "created_at": n.created_at.isoformat(),
            "sent_at": n.sent_at.isoformat() if n.sent_at else None}


class Conversation:
    """Reading what came in and went out on a ticket (mails, form entries, callers' mails)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def of(self, ticket_id: int) -> dict[str, Any]:
        with self.sessions() as s:
            messages = list(s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
                                      .order_by(TicketMessage.received_at, TicketMessage.id)))
            files: dict[int, list[Attachment]] = {}
            for a in s.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)):
                files.setdefault(a.message_id, []).append(a)
            notices = s.scalars(select(Notification).where(Notification.ticket_id == ticket_id)
                                .order_by(Notification.id))
            return {"messages": [message_dict(m, files.get(m.id, [])) for m in messages],
                    "notifications": [notification_dict(n) for n in notices]}

    def attachment(self, attachment_id: int) -> tuple[int, str, bytes] | None:
        """(its ticket, file name, bytes), or None."""
        with self.sessions() as s:
            a = s.get(Attachment, attachment_id)
            return (a.ticket_id, a.filename, a.data) if a is not None else None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
