"""SQLAlchemy 2 models: organisations, contacts and phones, tickets, call records, history.

Layer: storage. May import cti.events enums; must not import agent_console.
Times are timezone-aware UTC everywhere (stored as such on PostgreSQL, as UTC
on SQLite); phones are kept raw and normalised (E.164 or extension), indexed.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which drops tzinfo) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; hotline stores aware UTC times only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class TicketStatus(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Channel(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    FAX = "fax"
    FORM = "form"
    WEB = "web"


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class CallbackStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class PhoneKind(enum.StrEnum):
    DIRECT = "direct"  # a contact's own number
    MAIN = "main"  # an organisation's switchboard
    BLOCK = "block"  # an organisation's number block (prefix)


# as literals, not parameters: only then may SQLite and PostgreSQL use the partial index
CRITICAL_OPEN_SQL = "priority = 'critical' AND status IN ('new', 'open', 'pending')"


def _enum(e: type[enum.Enum]) -> Enum:
    return Enum(e, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x])


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    team: Mapped[str] = mapped_column(String(100), default="")  # customer focus team
    language: Mapped[str] = mapped_column(String(10), default="de")
    vip: Mapped[bool] = mapped_column(Boolean, default=False)  # callers get a priority bump


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    language: Mapped[str] = mapped_column(String(10), default="de")
    team: Mapped[str] = mapped_column(String(100), default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    """Someone who logs in: an agent (with a PJSIP endpoint), a supervisor or an admin."""

    __tablename__ = "users"
    # an endpoint names a phone at its site's Asterisk: PJSIP/1001 may be at every site once
    __table_args__ = (UniqueConstraint("site", "endpoint", name="uq_users_site_endpoint"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    role: Mapped[Role] = mapped_column(_enum(Role))
    endpoint: Mapped[str | None] = mapped_column(String(64))  # PJSIP/1001, unique with site
    teams: Mapped[str] = mapped_column(String(300), default="")  # comma separated
    language: Mapped[str] = mapped_column(String(10), default="de")  # the pages' language
    languages: Mapped[str] = mapped_column(String(20), default="de")  # spoken with callers: "de,en"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # where the user and their phone endpoint work: the site (its Asterisk) and who staffs them
    site: Mapped[str] = mapped_column(String(32), default="main", server_default="main")
    partner: Mapped[str] = mapped_column(String(100), default="in-house", server_default="in-house")


class UserSession(Base):
    """A login: the cookie holds a random token, this row only its keyed hash, so
    the database alone cannot be replayed as cookies. Ending a session deletes it."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)  # the absolute lifetime
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(64), default="")


class Phone(Base):
    """A number that identifies a contact (direct) or an organisation (main, block)."""

    __tablename__ = "phones"
    id: Mapped[int] = mapped_column(primary_key=True)
    raw: Mapped[str] = mapped_column(String(64))
    normalized: Mapped[str] = mapped_column(String(32))  # E.164, extension or prefix
    kind: Mapped[PhoneKind] = mapped_column(_enum(PhoneKind))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    # covering: the caller lookup reads only these columns (tickets.lookup), from the index alone
    __table_args__ = (Index("ix_phones_lookup", "normalized", "kind", "contact_id", "organisation_id"),)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("site", "linkedid", name="uq_tickets_site_linkedid"),
                      # the few open critical tickets (routing's priority bump, tickets.route_facts)
                      Index("ix_tickets_critical_open", "contact_id", sqlite_where=text(CRITICAL_OPEN_SQL),
                            postgresql_where=text(CRITICAL_OPEN_SQL)))
    id: Mapped[int] = mapped_column(primary_key=True)
    # what a caller reads out over the phone: digits only, e.g. 2026-000123
    number: Mapped[str] = mapped_column(String(20), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.NEW)
    priority: Mapped[Priority] = mapped_column(_enum(Priority), default=Priority.NORMAL)
    level: Mapped[int] = mapped_column(Integer, default=1)
    team: Mapped[str] = mapped_column(String(100), default="")
    assignee: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.PHONE)
    first_contact_resolution: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    # a mail or form from an unknown address: the organisation its domain belongs to
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    # the entry site of the call that made it (mail, form: "main"); unique with linkedid
    site: Mapped[str] = mapped_column(String(32), default="main", server_default="main")
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    # levels (tickets.escalation): the work queue, when the current level's time is up, when the
    # task-force alarm went out (set once, by a compare-and-set), when it was first resolved
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    level_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    taskforce_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # raised by one in the statement that locks the row for every change (tickets.desk): the ETag
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    csat: Mapped[int | None] = mapped_column(Integer)  # the caller's survey answer after the call, 1-5


class CallRecord(Base):
    __tablename__ = "call_records"
    __table_args__ = (UniqueConstraint("site", "linkedid", name="uq_call_records_site_linkedid"),
                      Index("ix_call_records_linkedid", "linkedid"),
                      Index("ix_call_records_entry", "entry_site", "entry_linkedid"),
                      # a number's calls by end: the report marks' FCR neighbours (tickets.report_agg_marks)
                      Index("ix_call_records_number_ended", "caller_number", "ended_at"),
                      # and newest first: the calls a pop lists (tickets.pop_history, migration 0027)
                      Index("ix_call_records_number_entered", "caller_number", "entered_at", "id",
                            postgresql_ops={"entered_at": "DESC NULLS LAST", "id": "DESC"}))
    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64))
    # the site (tickets.sites) whose Asterisk the call came in at; identity is (site, linkedid)
    site: Mapped[str] = mapped_column(String(32), default="main", server_default="main")
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True)
    caller_raw: Mapped[str] = mapped_column(String(64), default="")
    caller_name: Mapped[str] = mapped_column(String(200), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    queue: Mapped[str] = mapped_column(String(64), default="")
    entered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    ring_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer, default=0)
    agent: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(20), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id"))
    # the FastAGI route: reason (tickets.routing.Reason) and focus team ("" = every agent)
    route_reason: Mapped[str] = mapped_column(String(20), default="")
    route_team: Mapped[str] = mapped_column(String(100), default="")
    route_language: Mapped[str] = mapped_column(String(10), default="")  # de | en ("" = any)
    route_priority_reason: Mapped[str] = mapped_column(String(20), default="")  # vip | critical_ticket | ""
    # a call one site overflowed to another is two legs joined (tickets.call_join): the
    # answering leg names the entry leg and the time spent there (part of wait_seconds);
    # the entry leg (outcome `overflowed`, no ticket) names the site and leg that took it
    entry_site: Mapped[str | None] = mapped_column(String(32))
    entry_linkedid: Mapped[str | None] = mapped_column(String(64))
    entry_wait_seconds: Mapped[float | None] = mapped_column(Float)
    overflow_site: Mapped[str | None] = mapped_column(String(32))
    overflow_linkedid: Mapped[str | None] = mapped_column(String(64))
    # which write last touched the row, growing in commit order: set by a trigger on every
    # insert and update (migration 0026); the sites' board reads what was written since
    # its last read (tickets.reports.FinishedToday). Never set by hotline's code.
    written: Mapped[int] = mapped_column(BigInteger, server_default="0", server_onupdate=FetchedValue(),
                                         index=True)


class Callback(Base):
    """Work item: call back a caller who gave up waiting. One per caller per window."""

    __tablename__ = "callbacks"
    __table_args__ = (UniqueConstraint("site", "linkedid", name="uq_callbacks_site_linkedid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    caller_number: Mapped[str] = mapped_column(String(32), index=True)
    caller_raw: Mapped[str] = mapped_column(String(64), default="")
    caller_name: Mapped[str] = mapped_column(String(200), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    queue: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(20), default="abandoned")  # abandoned | timeout | after_hours | callback
    attempts: Mapped[int] = mapped_column(Integer, default=1)  # calls folded into this item
    first_call_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_call_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[CallbackStatus] = mapped_column(_enum(CallbackStatus), default=CallbackStatus.OPEN)
    done_by: Mapped[str] = mapped_column(String(64), default="")
    # "press 1 to be called back" (reason `callback`): the call and its ticket, and the
    # virtual place (callqueue.callbacks): when the caller joined the queue (the order
    # key), waiting | dialing | done | given_up ("" = no place), attempts, next try
    linkedid: Mapped[str | None] = mapped_column(String(64))
    site: Mapped[str] = mapped_column(String(32), default="main", server_default="main")  # the call's site
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    place_state: Mapped[str] = mapped_column(String(20), default="", server_default="", index=True)
    place_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    place_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    place_not_before: Mapped[datetime | None] = mapped_column(UtcDateTime())
    place_dialing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    place_agent: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # why hotline did not dial this item's number ("" = nothing refused): the dial allow-list
    refused: Mapped[str] = mapped_column(String(300), default="", server_default="")


class TicketHistory(Base):
    """Append-only: who changed what, when, and why."""

    __tablename__ = "ticket_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(50))
    old: Mapped[str] = mapped_column(Text, default="")
    new: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")


class TicketMessage(Base):
    """A mail or form entry that made or joined a ticket. `message_id` (the mail's
    Message-ID, unique) makes a redelivered mail land once and finds the ticket a
    reply belongs to; `references` holds In-Reply-To and References, space separated."""

    __tablename__ = "ticket_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    references: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(254), default="")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Attachment(Base):
    """A file that came with a message, kept in the database (stored in the same
    transaction as its ticket, so an accepted mail is all there or not at all)."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("ticket_messages.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Notification(Base):
    """The outbox: a mail to a caller, written in the same transaction as the ticket
    change it tells of, sent later by the sender task (agent_console/mail_out.py).
    `key` (ticket:kind:n) is unique, so one change never queues two mails; a sender
    claims a row by a compare-and-set update (pending, or a lease that ran out)."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # created | escalated | resolved
    to_address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class NoticeTemplate(Base):
    """An admin's own text for one kind of callers' mail in one language (string.Template
    placeholders, tickets/notice_text.py); without a row the built-in default is used."""

    __tablename__ = "notice_templates"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # created | escalated | resolved
    language: Mapped[str] = mapped_column(String(10), primary_key=True)  # de | en
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))


# the knowledge base's tables share Base.metadata (tests' wipe, Alembic): import them with the rest
from tickets import desk_settings as _desk_settings  # noqa: E402,F401  (reports switch and audit trail)
from tickets import kb_models as _kb_models  # noqa: E402,F401  (after Base and the tables it refers to)
from tickets import level_models as _level_models  # noqa: E402,F401  (departments, targets, appointments)
from tickets import report_agg_models as _report_agg_models  # noqa: E402,F401  (report aggregates)
