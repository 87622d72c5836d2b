"""Mail in: an SMTP (or LMTP) listener that turns every accepted mail into a ticket.

Layer: I/O shell (asyncio + aiosmtpd). Parsing is tickets.mail_parse (sans-IO),
storing tickets.intake; both run on a worker thread, so neither a 25 MB MIME
parse nor a database write holds the event loop.

Why a listener and not IMAP polling: the site's MTA already queues, retries and
filters spam; it forwards the desk's address here (a transport/relay map entry),
and it keeps a mail until we answer. We answer 250 only once the ticket, the
message and its attachments are committed, so nothing accepted is lost; a
refusal is a 5xx with its reason (the MTA bounces it to the sender, who learns
why); a database that does not answer is a 451, and the MTA tries again later.
IMAP polling would need a mailbox password in hotline, move or flag mail after
storing (two systems that can disagree after a crash) and poll with a delay.

The listener runs on the bridge instance only (one writer of mail tickets).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import SQLAlchemyError

from agent_console.settings import Settings
from tickets.intake import IntakeService
from tickets.mail_parse import DEFAULT_TYPES, Ignored, MailLimits, MailRefused, parse_mail

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ListenAddress:
    lmtp: bool
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        """`host:port` (SMTP) or `lmtp:host:port`; IPv6 hosts in brackets."""
        lmtp = text.startswith("lmtp:")
        rest = text.removeprefix("lmtp:").removeprefix("smtp:")
        host, sep, port = rest.rpartition(":")
        if not sep or not port.isdigit() or not host or not 0 <= int(port) <= 65535:
            raise ValueError(f"HOTLINE_MAIL_LISTEN must be host:port or lmtp:host:port, not {text!r}")
        return cls(lmtp, host.strip("[]"), int(port))

    def url(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'lmtp' if self.lmtp else 'smtp'}://{host}:{port if port is not None else self.port}"


def limits_of(max_attachment_bytes: int, types: str, own_domain: str) -> MailLimits:
    allowed = frozenset(t.strip().lower() for t in types.split(",") if t.strip()) or DEFAULT_TYPES
    return MailLimits(max_attachment_bytes=max_attachment_bytes, attachment_types=allowed, own_domain=own_domain)


class MailHandler:
    """aiosmtpd's handler: one DATA -> parse and store on a thread -> the SMTP reply."""

    def __init__(self, intake: IntakeService, limits: MailLimits, clock: Callable[[], datetime]) -> None:
        self.intake, self.limits, self.clock = intake, limits, clock

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        try:
            return await asyncio.to_thread(self.take, data, envelope.mail_from or "")
        except MailRefused as exc:
            log.info("mail from %r refused: %s", envelope.mail_from, exc.reason)
            return exc.reply
        except SQLAlchemyError:
            log.exception("mail from %r not stored: database error", envelope.mail_from)
            return "451 4.3.0 the message could not be stored now; try again later"

    def take(self, data: bytes, envelope_from: str) -> str:
        parsed = parse_mail(data, envelope_from, self.limits)
        if isinstance(parsed, Ignored):
            log.info("mail from %r ignored: %s", envelope_from, parsed.reason)
            return f"250 2.6.0 accepted, no ticket: {parsed.reason}"
        stored = self.intake.store_mail(parsed, self.clock())
        what = "new ticket" if stored.created else "added to ticket"
        return f"250 2.0.0 {what} {stored.ticket_number}"


class _Busy(asyncio.Protocol):
    """A connection over the limit: 421 (RFC 5321 4.3.2) and closed; the MTA tries again later."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(b"421 4.3.2 too many connections, try again later\r\n")
        transport.close()


class MailListener:
    """At most `max_connections` SMTP/LMTP sessions at once: each holds a 120 s timeout and a
    parse on a worker thread, so without a limit a flood of idle connections would take
    every file descriptor and thread the web instance has."""

    def __init__(self, address: ListenAddress, handler: MailHandler, max_bytes: int, hostname: str,
                 max_connections: int = 50) -> None:
        self.address, self.handler, self.max_bytes, self.hostname = address, handler, max_bytes, hostname
        self.max_connections = max_connections
        self.open = 0  # sessions now open
        self.refused = 0  # connections turned away with 421 since start
        self._server: asyncio.Server | None = None
        listener, base = self, LMTP if address.lmtp else SMTP

        class Counted(base):  # type: ignore[valid-type,misc]
            def connection_lost(self, error: Exception | None) -> None:
                listener.open -= 1
                super().connection_lost(error)

        self._kind: type[SMTP] = Counted

    def _protocol(self) -> asyncio.BaseProtocol:
        if self.open >= self.max_connections:
            self.refused += 1
            return _Busy()
        self.open += 1  # back down in connection_lost
        protocol: asyncio.BaseProtocol = self._kind(
            self.handler, data_size_limit=self.max_bytes, hostname=self.hostname, ident="hotline",
            decode_data=False, enable_SMTPUTF8=False, timeout=120)
        return protocol

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.address.host, self.address.port)
        log.info("mail intake listening on %s", self.url)

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self.address.port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return self.address.url(self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


def listener_of(s: Settings, intake: IntakeService, clock: Callable[[], datetime]) -> MailListener | None:
    """The SMTP/LMTP listener, on the bridge instance only and only with HOTLINE_MAIL_LISTEN."""
    if not s.mail_listen or s.web_only:
        return None
    handler = MailHandler(intake, limits_of(s.mail_max_attachment_bytes, s.mail_attachment_types, s.mail_domain),
                          clock)
    return MailListener(ListenAddress.parse(s.mail_listen), handler, s.mail_max_bytes, s.mail_hostname,
                        s.mail_max_connections)
