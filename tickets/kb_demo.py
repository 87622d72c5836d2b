"""Knowledge-base demo data: a handful of German and English articles, and two solved
printer tickets of Stadtwerke Leipzig, so a call from there is offered the printer articles.

Layer: service (sync). Must not import agent_console. Called by tickets.demo.seed_demo
for an empty database only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tickets.kb import ArticleData, KnowledgeBase
from tickets.kb_links import KbLinks
from tickets.kb_models import Visibility
from tickets.models import Contact, Ticket, TicketStatus

_C = Visibility.CUSTOMER
DEMO_ARTICLES: tuple[ArticleData, ...] = (
    ArticleData("Passwort zurücksetzen", """Das Windows-Passwort läuft nach 90 Tagen ab.

1. Identität prüfen: Name, Organisation und **Rückrufnummer** aus dem Verzeichnis.
2. Im Self-Service-Portal *Kennwort vergessen* wählen oder im AD-Werkzeug ein Einmal-Passwort setzen.
3. Den Anrufer bitten, es bei der nächsten Anmeldung zu ändern.

Ein Passwort wird **nie** per E-Mail verschickt.""", "de", "Konto", ("passwort", "kennwort", "konto"), _C),
    ArticleData("Reset a password", """Windows passwords expire after 90 days.

1. Verify the caller: name, organisation and **call-back number** from the directory.
2. In the self-service portal choose *Forgot password*, or set a one-time password in the AD tool.
3. Ask the caller to change it at the next sign-in.

A password is **never** sent by e-mail.""", "en", "Account", ("password", "account"), _C),
    ArticleData("Drucker druckt nicht", """Meist hängt ein Auftrag in der Warteschlange.

- Am Drucker: Papier, Toner und Fehlermeldung im Display prüfen.
- Am PC: *Einstellungen → Drucker* öffnen, hängende Aufträge löschen.
- Hilft das nicht: den Dienst **Druckwarteschlange** neu starten.

| Anzeige | Bedeutung |
|---|---|
| Stau in Fach 2 | Papier entnehmen |
| Toner leer | Toner bestellen (Kategorie *Verbrauchsmaterial*) |""", "de", "Drucker", ("drucker", "printer")),
    ArticleData("Printer does not print", """Usually a job is stuck in the queue.

- At the printer: check paper, toner and the message on its display.
- On the PC: open *Settings → Printers*, delete stuck jobs.
- Still stuck: restart the **Print Spooler** service.""", "en", "Printer", ("printer", "drucker")),
    ArticleData("VPN verbindet nicht", """- Internetverbindung ohne VPN prüfen.
- VPN-Client auf die aktuelle Version bringen.
- Abgelaufenes Passwort? Erst [Passwort zurücksetzen](https://intranet.example.org/kb/passwort).
- Zertifikatsfehler: Ticket an den 2nd Level *Netzwerk*.""", "de", "VPN", ("vpn", "netzwerk", "homeoffice")),
    ArticleData("VPN does not connect", """- Check the internet connection without VPN.
- Update the VPN client to the current version.
- Password expired? Reset it first.
- Certificate error: ticket to 2nd level *Network*.""", "en", "VPN", ("vpn", "network", "remote")),
    ArticleData("Outlook startet nicht", """Outlook hängt beim Start mit *Profil wird geladen*.

1. Outlook im abgesicherten Modus starten: `outlook.exe /safe`.
2. Add-Ins deaktivieren.
3. Hilft das nicht: in der Systemsteuerung unter *Mail* ein neues Profil anlegen.""", "de", "E-Mail",
                ("outlook", "e-mail")),
    ArticleData("Outlook does not start", """Outlook hangs at *Loading profile*.

1. Start Outlook in safe mode: `outlook.exe /safe`.
2. Disable add-ins.
3. Still hanging: create a new profile under *Mail* in the Control Panel.""", "en", "Email", ("outlook", "email")),
)
# (contact, subject, days ago): solved with the German printer article
_PRINTER_TICKETS = (("Jonas Becker", "Drucker 2. OG druckt nicht", 12), ("Sabine Wolf", "Druckaufträge hängen", 40))


def seed_kb_demo(sessions: sessionmaker[Session], now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    kb = KnowledgeBase(sessions, lambda: now)
    ids = [kb.create(article, "admin")["id"] for article in DEMO_ARTICLES]
    with sessions.begin() as s:
        tickets = [_solved_ticket(s, name, subject, now - timedelta(days=days))
                   for name, subject, days in _PRINTER_TICKETS]
    links = KbLinks(sessions, kb, lambda: now)
    for ticket_id in tickets:
        if ticket_id is not None:
            links.link(ticket_id, ids[2], "anna")


def _solved_ticket(s: Session, contact_name: str, subject: str, at: datetime) -> int | None:
    contact = s.scalar(select(Contact).where(Contact.name == contact_name))
    if contact is None:
        return None
    ticket = Ticket(number=f"demo-{contact.id}-{int(at.timestamp())}"[:20], subject=subject, category="Drucker",
                    status=TicketStatus.RESOLVED, contact_id=contact.id, assignee="anna",
                    first_contact_resolution=True, created_at=at, updated_at=at)
    s.add(ticket)
    s.flush()
    ticket.number = f"{at.year}-{ticket.id:06d}"
    return ticket.id
