"""`hotline serve`'s app runs the mail listener with HOTLINE_MAIL_LISTEN (bridge instance only)."""

from __future__ import annotations

import smtplib
from email import policy
from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from agent_console.app import create_app
from agent_console.settings import Settings
from tests.db_fixture import db_sessions, wipe
from tickets.models import Channel, Ticket


def test_the_app_listens_for_mail_and_stores_a_ticket(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"mail_listen": "127.0.0.1:0"}))
    with TestClient(app):
        mail = app.state.mail
        assert mail.url == f"smtp://127.0.0.1:{mail.port}" and mail.port > 0
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "hans@example.org", "desk@example.org", "VPN geht nicht"
        msg.set_content("Seit heute früh.")
        with smtplib.SMTP("127.0.0.1", mail.port, timeout=10) as smtp:
            refused = smtp.sendmail("hans@example.org", ["desk@example.org"], msg.as_bytes(policy=policy.SMTP))
        assert refused == {}
    with db_sessions(settings.database_url) as sessions, sessions() as s:
        [ticket] = s.scalars(select(Ticket).where(Ticket.subject == "VPN geht nicht"))
        assert ticket.channel == Channel.EMAIL and ticket.description == "Seit heute früh.\n"
    with db_sessions(settings.database_url) as sessions:
        wipe(sessions, keep={"users"})


def test_no_listener_unless_set_or_on_a_web_only_instance(settings: Settings) -> None:
    assert create_app(settings).state.mail is None
    web_only = settings.model_copy(update={"mail_listen": "127.0.0.1:0", "redis_url": "redis://127.0.0.1:1"})
    assert create_app(web_only).state.mail is None


def test_the_app_sends_a_callers_mail_through_hotline_smtp_url(settings: Settings) -> None:
    import threading

    from aiosmtpd.controller import Controller

    from tests.pbx_fixture import free_tcp_port
    from tickets.models import Contact

    got: list[bytes] = []
    arrived = threading.Event()

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(envelope.original_content)
            arrived.set()
            return "250 OK"

    sink = Controller(Sink(), hostname="127.0.0.1", port=free_tcp_port(), server_hostname="sink")
    sink.start()
    try:
        with db_sessions(settings.database_url) as sessions, sessions.begin() as s:
            s.add(contact := Contact(name="John Smith", email="john@city.example", language="en"))
            s.flush()
            contact_id = contact.id
        app = create_app(settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"}))
        with TestClient(app) as client:
            services = app.state.services
            ticket = services.desk.create("VPN down", "anna", contact_id=contact_id)
            assert arrived.wait(10), "no mail within 10 s"
        assert f"[#{ticket['number']}] We have received your request: VPN down".encode() in got[0]
        assert len(got) == 1 and client is not None
    finally:
        sink.stop()
        with db_sessions(settings.database_url) as sessions:
            wipe(sessions, keep={"users"})
