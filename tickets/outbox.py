"""The notification outbox: queue a caller's mail with the ticket change, claim, mark.

Layer: storage service (sync SQLAlchemy; run it off the event loop). Must not
import agent_console or smtplib. Exactly-once, as far as SMTP allows:
- `enqueue` runs inside the transaction that creates, escalates or resolves the
  ticket: the change and its mail are stored together or not at all; a unique
  `key` per change keeps a replayed change from queueing a second mail.
- `claim` takes due rows with a compare-and-set UPDATE (pending and due, or
  `sending` whose lease ran out: its sender died); only the sender whose update
  changed the row sends it, so two senders never send one row.
- `sent` marks it after the SMTP server's 250; `retry` puts it back with a
  growing backoff, and after MAX_ATTEMPTS marks it failed.
The one gap SMTP leaves: a sender killed after the server's 250 and before
`sent` commits sends that row again when its lease runs out. The mail keeps its
Message-ID, so the receiving side can tell the copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tickets.models import Contact, Notification, Ticket
from tickets.notice_templates import stored_text
from tickets.notice_text import Facts, language_of, render

MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class NoticeConfig:
    """Given to the services that change tickets; None there: nothing is queued (no SMTP)."""

    domain: str = "hotline.invalid"  # of our Message-IDs (tickets.mail_parse ignores them coming back)
    timezone: str = "Europe/Berlin"


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    to_address: str
    subject: str
    body: str
    message_id: str
    language: str
    attempts: int


def enqueue(s: Session, ticket: Ticket, kind: str, now: datetime, config: NoticeConfig | None) -> bool:
    """Queue `kind`'s mail for the ticket's contact, in `s`'s transaction; False when
    there is no one to tell (no contact, no address, notifications off)."""
    if config is None or ticket.contact_id is None:
        return False
    contact = s.get(Contact, ticket.contact_id)
    if contact is None or "@" not in (contact.email or ""):
        return False
    n = s.scalar(select(func.count()).select_from(Notification)
                 .where(Notification.ticket_id == ticket.id, Notification.kind == kind)) or 0
    key = f"{ticket.id}:{kind}:{ticket.level if kind == 'escalated' else n}"
    facts = Facts(ticket.number, ticket.subject, contact.name, ticket.due_at, ticket.level, ticket.team,
                  ticket.description, config.timezone)
    subject, body = render(kind, contact.language, facts, stored_text(s, kind, language_of(contact.language)))
    s.add(Notification(key=key, ticket_id=ticket.id, kind=kind, to_address=contact.email,
                       language=contact.language, subject=subject, body=body,
                       message_id=f"<{uuid.uuid4().hex}@{config.domain}>", status="pending", attempts=0,
                       next_attempt_at=now, created_at=now, last_error=""))
    return True


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(and_(Notification.status == "pending", Notification.next_attempt_at <= now),
               and_(Notification.status == "sending", Notification.claimed_until < now))


class Outbox:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def claim(self, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[Claimed]:
        with self.sessions() as s:
            ids = list(s.scalars(select(Notification.id).where(_due(now))
                                 .order_by(Notification.id).limit(limit)))
        claimed: list[Claimed] = []
        for row_id in ids:
            with self.sessions.begin() as s:
                done = s.execute(update(Notification).where(Notification.id == row_id, _due(now))
                                 .values(status="sending", claimed_until=now + lease,
                                         attempts=Notification.attempts + 1))
                if done.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another sender took it first
                n = s.get_one(Notification, row_id)
                claimed.append(Claimed(n.id, n.to_address, n.subject, n.body, n.message_id, n.language, n.attempts))
        return claimed

    def sent(self, row_id: int, now: datetime) -> None:
        with self.sessions.begin() as s:
            s.execute(update(Notification).where(Notification.id == row_id, Notification.status == "sending")
                      .values(status="sent", sent_at=now, claimed_until=None))

    def retry(self, row_id: int, attempts: int, now: datetime, error: str) -> None:
        backoff = timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))
        status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        with self.sessions.begin() as s:
            s.execute(update(Notification).where(Notification.id == row_id, Notification.status == "sending")
                      .values(status=status, next_attempt_at=now + backoff, claimed_until=None,
                              last_error=error[:2000]))
