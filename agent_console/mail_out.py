"""Mail out: the task that sends the notification outbox over SMTP (HOTLINE_SMTP_URL).

Layer: I/O shell. The outbox (tickets.outbox) is read and marked on worker
threads, and each mail goes out with the standard library's smtplib on a worker
thread too, so a slow mail server never holds the event loop. Rows are claimed
atomically (two instances, or a restarted one, never send a row twice), retried
with a growing backoff, and a row whose sender died is taken again when its
lease runs out. Every mail says `Auto-Submitted: auto-generated` (RFC 3834), so
auto-responders do not answer it, and carries our own Message-ID, which the
mail intake ignores should it come back.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from agent_console.settings import Settings
from cti.tasks import TaskSet
from tickets.outbox import Claimed, NoticeConfig, Outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool = False  # smtps:// (TLS from the start); smtp:// uses STARTTLS when offered
    username: str = ""
    password: str = ""

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        """`smtp://[user:password@]host[:port]` or `smtps://…`."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("HOTLINE_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://…")
        tls = parts.scheme == "smtps"
        return cls(parts.hostname, parts.port or (465 if tls else 25), tls,
                   unquote(parts.username or ""), unquote(parts.password or ""))


def compose(row: Claimed, sender: str, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, row.to_address, row.subject
    msg["Message-ID"], msg["Date"] = row.message_id, format_datetime(now)
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = row.language
    msg.set_content(row.body)
    return msg


def send_now(target: SmtpTarget, msg: EmailMessage, timeout: float = 30) -> None:
    """One mail, one connection (notifications are few). Raises on any refusal."""
    smtp: smtplib.SMTP = (smtplib.SMTP_SSL(target.host, target.port, timeout=timeout,
                                           context=ssl.create_default_context()) if target.tls
                          else smtplib.SMTP(target.host, target.port, timeout=timeout))
    with smtp:
        smtp.ehlo()
        if not target.tls and smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if target.username:
            smtp.login(target.username, target.password)
        smtp.send_message(msg)


class OutboxSender:
    def __init__(self, outbox: Outbox, target: SmtpTarget, sender: str, clock: Callable[[], datetime],
                 poll_seconds: float = 1.0) -> None:
        self.outbox, self.target, self.sender, self.clock = outbox, target, sender, clock
        self.poll_seconds = poll_seconds
        self._tasks = TaskSet()
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._tasks.spawn(self.run(), "notification-sender")

    def wake(self) -> None:
        """Look at the outbox now (a change was just queued) rather than at the next poll."""
        self._wake.set()

    async def close(self) -> None:
        await self._tasks.stop()

    async def run(self) -> None:
        while True:
            try:
                sent = await self.pump()
            except Exception:  # the database is away: try again at the next poll
                log.exception("notification outbox not readable now")
                sent = 0
            if sent:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass

    async def pump(self) -> int:
        """Send what is due now; the number of rows handled."""
        rows = await asyncio.to_thread(self.outbox.claim, self.clock())
        for row in rows:
            try:
                await asyncio.to_thread(send_now, self.target, compose(row, self.sender, self.clock()))
            except (smtplib.SMTPException, OSError) as exc:
                log.warning("notification %s to %s not sent (attempt %s): %s", row.id, row.to_address,
                            row.attempts, exc)
                await asyncio.to_thread(self.outbox.retry, row.id, row.attempts, self.clock(), str(exc))
                continue
            await asyncio.to_thread(self.outbox.sent, row.id, self.clock())
        return len(rows)


def notices_of(s: Settings) -> NoticeConfig | None:
    """Callers' mails are queued only when they can be sent (HOTLINE_SMTP_URL)."""
    if not s.smtp_url:
        return None
    SmtpTarget.parse(s.smtp_url)  # a bad URL stops the start with its reason
    return NoticeConfig(s.mail_domain, s.timezone)


def sender_of(s: Settings, db: sessionmaker[Session], clock: Callable[[], datetime]) -> OutboxSender | None:
    """The outbox's sender, on the bridge instance (web-only instances only queue)."""
    if not s.smtp_url or s.web_only:
        return None
    return OutboxSender(Outbox(db), SmtpTarget.parse(s.smtp_url), s.mail_from or f"hotline@{s.mail_domain}", clock)
