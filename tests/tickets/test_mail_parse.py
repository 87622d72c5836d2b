"""tickets.mail_parse: bytes in, a typed intake request (or Ignored, or MailRefused) out; no I/O."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage

import pytest

from tickets.mail_parse import Ignored, MailIntake, MailLimits, MailRefused, parse_mail

LIMITS = MailLimits(max_attachment_bytes=1000)


def _mail(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Erika <erika@stadt.example>")
    msg["Subject"] = headers.pop("Subject", "Drucker")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Text")
    return msg


def parse(msg: EmailMessage, envelope_from: str = "erika@stadt.example") -> MailIntake:
    parsed = parse_mail(msg.as_bytes(policy=policy.SMTP), envelope_from, LIMITS)
    assert isinstance(parsed, MailIntake)
    return parsed


def test_ids_ticket_number_and_sender_are_read() -> None:
    got = parse(_mail(Subject="AW: Drucker [#2026-000123] ", Message_ID="<m1@x.example>",
                      In_Reply_To="<n1@hotline.invalid>", References="<r1@x> <r2@y>"))
    assert (got.ticket_number, got.message_id, got.in_reply_to, got.references) == (
        "2026-000123", "<m1@x.example>", ("<n1@hotline.invalid>",), ("<r1@x>", "<r2@y>"))
    assert (got.sender, got.sender_name, got.subject) == ("erika@stadt.example", "Erika", "AW: Drucker [#2026-000123]")


def test_plain_alternative_wins_and_names_are_cleaned() -> None:
    msg = _mail(Subject="Zeile\u202eneu")
    msg.add_alternative("<p>HTML</p>", subtype="html")
    msg.add_attachment(b"ok", maintype="text", subtype="plain", filename="../../etc/\u202epasswd.txt")
    got = parse(msg)
    assert got.text == "Text\n" and got.subject == "Zeile neu"
    [att] = got.attachments
    assert att.filename == ".._.._etc_ passwd.txt" and att.data == b"ok"


def test_a_sender_only_in_the_envelope_and_none_at_all() -> None:
    assert parse(_mail(From="undisclosed"), "hans@stadt.example").sender == "hans@stadt.example"
    with pytest.raises(MailRefused, match="no sender address") as exc:
        parse(_mail(From="undisclosed"), "nobody")
    assert exc.value.reply.startswith("550 5.1.7")


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Auto_Submitted": "auto-generated"}, "Auto-Submitted"),
    ({"Precedence": "junk"}, "Precedence"),
    ({"X_Autorespond": "1"}, "auto-reply header"),
])
def test_what_is_ignored_says_why(headers: dict[str, str], reason: str) -> None:
    got = parse_mail(_mail(**headers).as_bytes(policy=policy.SMTP), "erika@stadt.example", LIMITS)
    assert isinstance(got, Ignored) and reason in got.reason


def test_auto_submitted_no_is_a_person_writing() -> None:
    assert parse(_mail(Auto_Submitted="no")).subject == "Drucker"
