"""Demo data for an empty database: organisations with main numbers and number blocks, contacts, users.

Layer: service (sync). Must not import agent_console. Nothing is added unless
the database has neither contacts nor users, so it never mixes with real data.
Passwords come from the caller (hotline_cli.demo generates them); there is no
default password in code. The numbers are made up (the UK ones are in Ofcom's
01632 960xxx range for drama); E.164 forms are spelled out so a glance at this
file says what a lookup will find.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tickets.customers import parse_phone
from tickets.kb_demo import seed_kb_demo
from tickets.models import Contact, Organisation, Phone, PhoneKind, Priority, Role, Ticket, TicketStatus, User
from tickets.routing_admin import set_user
from tickets.users import UserService, validate_new_user

# the demo's focus teams (HOTLINE_FOCUS_TEAMS set by `hotline up`): Klinikum callers
# ring bert, Northwind's (English) ring carla, everyone else rings every agent
DEMO_FOCUS_TEAMS = "Kliniken,International"

# username, role, PJSIP endpoint (agents only), language
DEMO_USERS: tuple[tuple[str, Role, str | None, str], ...] = (
    ("anna", Role.AGENT, "PJSIP/1001", "de"),
    ("bert", Role.AGENT, "PJSIP/1002", "de"),
    ("carla", Role.AGENT, "PJSIP/1003", "en"),
    ("sven", Role.SUPERVISOR, None, "de"),
    ("admin", Role.ADMIN, None, "de"),
)
# `hotline up --sites N`: one agent on phone 1001 at each other site (each site's Asterisk
# has its own 1001), staffed by an external call centre: (user, site, endpoint, language, partner)
DEMO_SITE_USERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("berit", "b", "PJSIP/1001", "de", "Callcenter Nord"),
    ("conny", "c", "PJSIP/1001", "en", "Callcenter Süd"),
)
_PROFILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "berit": ("Berit Brenner", ()),
    "conny": ("Conny Clark", ()),
    "anna": ("Anna Albrecht", ("Kommunen", "Schulen")),
    "bert": ("Bert Brandt", ("Kliniken", "Kommunen")),
    "carla": ("Carla Castillo", ("International",)),
    "sven": ("Sven Seidel", ()),
    "admin": ("Administrator", ()),
}

# name, team, language, main number (raw, E.164), number block (raw, E.164 prefix)
DEMO_ORGANISATIONS: tuple[tuple[str, str, str, tuple[str, str], tuple[str, str]], ...] = (
    ("Stadtwerke Leipzig", "Kommunen", "de", ("0341 2538-0", "+493412538"), ("0341 2538-", "+493412538")),
    ("Gymnasium Dresden-Neustadt", "Schulen", "de", ("0351 8104-0", "+493518104"), ("0351 8104-", "+493518104")),
    ("Grundschule am Park Halle", "Schulen", "de", ("0345 7730-0", "+493457730"), ("0345 7730-", "+493457730")),
    ("Klinikum Chemnitz", "Kliniken", "de", ("0371 3330-0", "+493713330"), ("0371 3330-", "+493713330")),
    ("Northwind Trading Ltd", "International", "en", ("+44 1632 960000", "+441632960000"),
     ("+44 1632 960", "+441632960")),
)

# organisation, contact name, direct number (raw), email local part
DEMO_CONTACTS: tuple[tuple[str, str, str, str], ...] = (
    ("Stadtwerke Leipzig", "Erika Mustermann", "0341 2538-5555", "erika.mustermann"),
    ("Stadtwerke Leipzig", "Jonas Becker", "0341 2538-4711", "jonas.becker"),
    ("Stadtwerke Leipzig", "Sabine Wolf", "0341 2538-4712", "sabine.wolf"),
    ("Stadtwerke Leipzig", "Max Mustermann", "0341 2538-5556", "max.mustermann"),
    ("Gymnasium Dresden-Neustadt", "Petra Lehmann", "0351 8104-120", "petra.lehmann"),
    ("Gymnasium Dresden-Neustadt", "Stefan Krause", "0351 8104-121", "stefan.krause"),
    ("Gymnasium Dresden-Neustadt", "Monika Hoffmann", "0351 8104-130", "monika.hoffmann"),
    ("Gymnasium Dresden-Neustadt", "Uwe Schulz", "0351 8104-131", "uwe.schulz"),
    ("Grundschule am Park Halle", "Claudia Neumann", "0345 7730-11", "claudia.neumann"),
    ("Grundschule am Park Halle", "Thomas Richter", "0345 7730-12", "thomas.richter"),
    ("Grundschule am Park Halle", "Birgit Koch", "0345 7730-13", "birgit.koch"),
    ("Grundschule am Park Halle", "Andrea Klein", "0345 7730-14", "andrea.klein"),
    ("Klinikum Chemnitz", "Dr. Jana Koch", "0371 3330-1234", "jana.koch"),
    ("Klinikum Chemnitz", "Markus Wolf", "0371 3330-1235", "markus.wolf"),
    ("Klinikum Chemnitz", "Sandra Braun", "0371 3330-2200", "sandra.braun"),
    ("Klinikum Chemnitz", "Oliver Zimmermann", "0371 3330-2201", "oliver.zimmermann"),
    ("Northwind Trading Ltd", "John Smith", "+44 1632 960123", "john.smith"),
    ("Northwind Trading Ltd", "Emily Clarke", "+44 1632 960124", "emily.clarke"),
    ("Northwind Trading Ltd", "Oliver Hughes", "+44 1632 960125", "oliver.hughes"),
    ("Northwind Trading Ltd", "Priya Patel", "+44 1632 960126", "priya.patel"),
)


def is_empty(sessions: sessionmaker[Session]) -> bool:
    with sessions() as s:
        return s.scalar(select(Contact.id).limit(1)) is None and s.scalar(select(User.id).limit(1)) is None


def seed_demo(sessions: sessionmaker[Session], passwords: dict[str, str]) -> bool:
    """Add the demo data if there are neither contacts nor users; True if it did.

    `passwords[username]` for every user in DEMO_USERS; all are checked before anything is written.
    """
    for username, _role, endpoint, _language in DEMO_USERS:
        if username not in passwords:
            raise ValueError(f"no password given for demo user {username!r}")
        validate_new_user(username, passwords[username], endpoint)
    if not is_empty(sessions):
        return False
    with sessions.begin() as s:
        _add_customers(s)
        _add_open_tickets(s)
    seed_kb_demo(sessions)  # knowledge-base articles, and printer tickets that make them suggested
    users = UserService(sessions)
    for username, role, endpoint, language in DEMO_USERS:
        display_name, teams = _PROFILES[username]
        users.add(username, passwords[username], role, endpoint, display_name=display_name, teams=teams,
                  language=language)
        set_user(sessions, username, languages=language)  # spoken with callers (routing)
    return True


def seed_site_users(sessions: sessionmaker[Session], passwords: dict[str, str], sites: Sequence[str]) -> list[str]:
    """The demo agent of each of `sites` (DEMO_SITE_USERS) who is not there yet; their names.
    Also into a database seeded before (a demo started with one site, now with three)."""
    users = UserService(sessions)
    have = {u.username for u in users.all()}
    added = []
    for username, site, endpoint, language, partner in DEMO_SITE_USERS:
        if site not in sites or username in have:
            continue
        display_name, teams = _PROFILES[username]
        users.add(username, passwords[username], Role.AGENT, endpoint, display_name=display_name, teams=teams,
                  language=language, site=site, partner=partner)
        set_user(sessions, username, languages=language)
        added.append(username)
    return added


def _add_customers(s: Session) -> None:
    orgs: dict[str, Organisation] = {}
    for name, team, language, (main_raw, main), (block_raw, block) in DEMO_ORGANISATIONS:
        org = orgs[name] = Organisation(name=name, team=team, language=language)
        s.add(org)
        s.flush()
        s.add_all([Phone(raw=main_raw, normalized=main, kind=PhoneKind.MAIN, organisation_id=org.id),
                   Phone(raw=block_raw, normalized=block, kind=PhoneKind.BLOCK, organisation_id=org.id)])
    for org_name, name, number, mail in DEMO_CONTACTS:
        org = orgs[org_name]
        domain = "example.com" if org.language == "en" else "example.org"
        contact = Contact(name=name, email=f"{mail}@{domain}", language=org.language, team="",
                          organisation_id=org.id)
        s.add(contact)
        s.flush()
        raw, normalized = parse_phone(number)
        s.add(Phone(raw=raw, normalized=normalized, kind=PhoneKind.DIRECT, contact_id=contact.id))


# open tickets whose callers can hear their status by phone (`hotline call --dtmf 2`)
DEMO_OPEN_TICKETS = (("Erika Mustermann", "VPN-Zugang im Homeoffice fehlt"),
                     ("John Smith", "Shared mailbox not visible"))


def _add_open_tickets(s: Session) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    due = (now + timedelta(days=1)).replace(hour=13, minute=30)  # tomorrow afternoon in Germany
    for name, subject in DEMO_OPEN_TICKETS:
        contact = s.scalar(select(Contact).where(Contact.name == name))
        if contact is None:
            continue
        ticket = Ticket(number=f"open-{contact.id}", subject=subject, status=TicketStatus.OPEN,
                        priority=Priority.NORMAL, contact_id=contact.id, organisation_id=contact.organisation_id,
                        due_at=due, created_at=now - timedelta(hours=3), updated_at=now - timedelta(hours=3))
        s.add(ticket)
        s.flush()
        ticket.number = f"{now.year}-{ticket.id:06d}"
