"""An inbound mail as a typed intake request: sans-IO parsing of the bytes an MTA delivered.

Layer: pure (no I/O, no clock, no database). Must not import agent_console or
SQLAlchemy. `parse_mail(data, envelope_from, limits)` returns a MailIntake, or
Ignored for mail that must make no ticket and get no answer (auto-replies,
out-of-office, bulk, bounces, our own messages coming back), or raises
MailRefused with the SMTP reply that says why (malformed MIME, 8-bit headers,
an attachment too large or of a type not accepted). The stdlib `email` package
with `policy.default` does the MIME work; HTML bodies become text
(tickets.html_text), never markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses

MAX_TEXT = 100_000  # characters of body text kept
DEFAULT_TYPES = frozenset({
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/tiff", "image/webp", "text/plain",
    "text/csv", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "message/rfc822"})
TICKET_REF = re.compile(r"\[#(\d{4}-\d{6,9})\]")
_IDS = re.compile(r"<[^<>\s]{1,250}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_BROKEN = (errors.NoBoundaryInMultipartDefect, errors.StartBoundaryNotFoundDefect,
           errors.CloseBoundaryNotFoundDefect, errors.MultipartInvariantViolationDefect,
           errors.MissingHeaderBodySeparatorDefect, errors.FirstHeaderLineIsContinuationDefect,
           errors.InvalidMultipartContentTransferEncodingDefect)
_BULK = frozenset({"bulk", "junk", "list", "auto_reply"})
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response")


@dataclass(frozen=True, slots=True)
class MailLimits:
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 20
    attachment_types: frozenset[str] = DEFAULT_TYPES
    own_domain: str = "hotline.invalid"  # the domain of the Message-IDs hotline itself sends


@dataclass(frozen=True, slots=True)
class AttachmentIn:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class MailIntake:
    sender: str  # the From address (the envelope sender when From has none)
    sender_name: str
    subject: str
    text: str
    message_id: str | None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    ticket_number: str | None = None  # from "[#2026-000123]" in the subject
    attachments: tuple[AttachmentIn, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


class MailRefused(ValueError):
    """The SMTP answer for mail that is refused: `code` (5xx), `status` (RFC 3463), `reason`."""

    def __init__(self, code: int, status: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.status, self.reason = code, status, reason

    @property
    def reply(self) -> str:
        return f"{self.code} {self.status} {self.reason}"


def clean_line(value: str, limit: int) -> str:
    """One line: control and direction-override characters dropped, spaces folded, cut to `limit`."""
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    text = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return text if len(text) <= limit else text[:limit] + "\n[…]"


def _check_headers(data: bytes) -> None:
    end = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0), default=len(data))
    if any(b > 0x7F for b in data[:end]):
        raise MailRefused(550, "5.6.7", "8-bit characters in a header: encode them (RFC 2047)")
    if not data[:end].strip():
        raise MailRefused(550, "5.6.0", "malformed message: no header")


def _check_structure(msg: EmailMessage) -> None:
    for part in msg.walk():
        broken = [d for d in part.defects if isinstance(d, _BROKEN)]
        if broken:
            name = type(broken[0]).__name__.removesuffix("Defect")
            raise MailRefused(550, "5.6.0", f"malformed MIME structure ({name})")


def _ignored(msg: EmailMessage, envelope_from: str, message_id: str | None, limits: MailLimits) -> Ignored | None:
    auto = str(msg.get("auto-submitted", "")).strip().lower()
    if auto and not auto.startswith("no"):
        return Ignored(f"Auto-Submitted: {auto[:40]}")
    if str(msg.get("precedence", "")).strip().lower() in _BULK:
        return Ignored("Precedence: bulk, junk, list or auto_reply")
    if any(name in msg for name in _AUTO_HEADERS):
        return Ignored("an auto-reply header")
    if message_id and message_id.lower().endswith("@" + limits.own_domain.lower() + ">"):
        return Ignored("our own message came back")
    if envelope_from.strip("<> ") == "":
        return Ignored("a bounce (null sender)")
    return None


def _ids(value: object) -> tuple[str, ...]:
    return tuple(_IDS.findall(str(value or "")))[:50]


def _sender(msg: EmailMessage, envelope_from: str) -> tuple[str, str]:
    pairs = [(n, a) for n, a in getaddresses([str(msg.get("from", ""))]) if "@" in a]
    name, address = pairs[0] if pairs else ("", envelope_from.strip("<> "))
    if "@" not in address:
        raise MailRefused(550, "5.1.7", "no sender address in From or the envelope")
    return clean_line(name, 200), clean_line(address, 254)


def _text(part: MIMEPart | None) -> str:
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: keep what decodes
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    text = content if isinstance(content, str) else ""
    if part.get_content_type() == "text/html":
        from tickets.html_text import html_to_text

        text = html_to_text(text)
    return clean_text(text)


def _attachment(part: MIMEPart, n: int, limits: MailLimits) -> AttachmentIn:
    kind = part.get_content_type()
    name = clean_line((part.get_filename() or f"part-{n}").replace("/", "_").replace("\\", "_"), 255) or f"part-{n}"
    if kind not in limits.attachment_types:
        raise MailRefused(550, "5.7.1", f"attachment {name!r}: type {kind} is not accepted")
    if kind == "message/rfc822":
        inner = part.get_content()
        data = inner.as_bytes() if isinstance(inner, Message) else b""
    else:
        raw = part.get_payload(decode=True)
        data = raw if isinstance(raw, bytes) else b""
    if len(data) > limits.max_attachment_bytes:
        raise MailRefused(552, "5.3.4", f"attachment {name!r} is {len(data):,} bytes; "
                                        f"at most {limits.max_attachment_bytes:,} are accepted")
    return AttachmentIn(name, kind, data)


def _attachments(msg: EmailMessage, body: MIMEPart | None, limits: MailLimits) -> tuple[AttachmentIn, ...]:
    found: list[AttachmentIn] = []
    for part in msg.walk():
        if part is body or part.is_multipart():
            continue
        named = part.get_content_disposition() == "attachment" or part.get_filename()
        if not named and part.get_content_type() in ("text/plain", "text/html"):
            continue  # the other alternative of the body
        if len(found) == limits.max_attachments:
            raise MailRefused(552, "5.3.4", f"more than {limits.max_attachments} attachments")
        found.append(_attachment(part, len(found) + 1, limits))
    return tuple(found)


def parse_mail(data: bytes, envelope_from: str, limits: MailLimits) -> MailIntake | Ignored:
    _check_headers(data)
    try:
        msg = BytesParser(policy=policy.default).parsebytes(data)
        assert isinstance(msg, EmailMessage)
        _check_structure(msg)
        message_id = next(iter(_ids(msg.get("message-id"))), None)
        ignored = _ignored(msg, envelope_from, message_id, limits)
        if ignored is not None:
            return ignored
        name, address = _sender(msg, envelope_from)
        subject = clean_line(str(msg.get("subject", "")), 300)
        body = msg.get_body(preferencelist=("plain", "html"))
        found = TICKET_REF.search(subject)
        return MailIntake(
            sender=address, sender_name=name, subject=subject, text=_text(body), message_id=message_id,
            in_reply_to=_ids(msg.get("in-reply-to")), references=_ids(msg.get("references")),
            ticket_number=found.group(1) if found else None, attachments=_attachments(msg, body, limits))
    except (errors.MessageError, LookupError, TypeError, IndexError, AttributeError, AssertionError) as exc:
        raise MailRefused(550, "5.6.0", f"malformed message ({type(exc).__name__})") from None
