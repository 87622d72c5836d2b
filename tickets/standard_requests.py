"""Standard requests: templates (password reset, role change) that fill a ticket and close
it as solved on first contact, with an audit trail.

Layer: service (sync; run it off the event loop). Must not import agent_console.
One transaction makes the ticket (subject and notes in the caller's language from the
template and the agent's answers), marks it solved on first contact and resolved, and
writes the history: `created`, a `standard_request` row whose note holds the template
and every answer (the audit trail: who did what for whom, on which proof), and the
status change with its reason. The caller's "resolved" mail is queued in the same
transaction. Every answer is required, one line, at most 200 characters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tickets.desk import DeskError, add_ticket, ticket_dict
from tickets.escalation import note_status
from tickets.models import Channel, Contact, Priority, TicketHistory, TicketStatus
from tickets.outbox import NoticeConfig, enqueue
from tickets.sla import SlaPolicy

MAX_ANSWER = 200


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    category: str
    fields: tuple[str, ...]  # the answers the agent gives (labels: the pages' i18n `sr.field.<name>`)
    subject: dict[str, str]  # by language, formatted with the answers
    notes: dict[str, str]


TEMPLATES = {t.key: t for t in (
    Template("password_reset", "password", ("account", "system", "identity_check"),
             {"de": "Passwort zurückgesetzt: {account} ({system})", "en": "Password reset: {account} ({system})"},
             {"de": "Standardanfrage Passwort zurücksetzen.\nKonto: {account}\nSystem: {system}\n"
                    "Identität geprüft durch: {identity_check}\nEinmalpasswort mitgeteilt, Änderung bei der "
                    "nächsten Anmeldung erzwungen.",
              "en": "Standard request password reset.\nAccount: {account}\nSystem: {system}\n"
                    "Identity checked by: {identity_check}\nOne-time password given, change forced at the "
                    "next login."}),
    Template("role_change", "access", ("account", "system", "new_role", "approved_by"),
             {"de": "Rollenänderung: {account} → {new_role} ({system})",
              "en": "Role change: {account} → {new_role} ({system})"},
             {"de": "Standardanfrage Rollenänderung.\nKonto: {account}\nSystem: {system}\nNeue Rolle: {new_role}\n"
                    "Genehmigt von: {approved_by}",
              "en": "Standard request role change.\nAccount: {account}\nSystem: {system}\nNew role: {new_role}\n"
                    "Approved by: {approved_by}"}),
)}


def templates() -> list[dict[str, Any]]:
    return [{"key": t.key, "category": t.category, "fields": list(t.fields)} for t in TEMPLATES.values()]


def _answers(template: Template, given: dict[str, Any]) -> dict[str, str]:
    unknown = sorted(set(given) - set(template.fields))
    if unknown:
        raise DeskError("fields", f"{template.key} has no field {unknown[0]!r} (fields: {', '.join(template.fields)})")
    answers = {}
    for name in template.fields:
        value = given.get(name)
        text = " ".join(value.split()) if isinstance(value, str) else ""
        if not 1 <= len(text) <= MAX_ANSWER:
            raise DeskError(f"fields.{name}", f"is required (1-{MAX_ANSWER} characters, one line)")
        answers[name] = text
    return answers


class StandardRequests:
    def __init__(self, sessions: sessionmaker[Session], policy: SlaPolicy, notices: NoticeConfig | None = None) -> None:
        self.sessions, self.policy, self.notices = sessions, policy, notices

    def apply(self, key: str, contact_id: int, given: dict[str, Any], actor: str, now: datetime,
              channel: str = "phone") -> dict[str, Any]:
        """The new ticket, already resolved on first contact."""
        template = TEMPLATES.get(key)
        if template is None:
            raise DeskError("template", f"must be one of {', '.join(TEMPLATES)}")
        answers = _answers(template, given)
        try:
            kind = Channel(channel)
        except ValueError:
            raise DeskError("channel", f"must be one of {', '.join(c.value for c in Channel)}") from None
        with self.sessions.begin() as s:
            contact = s.get(Contact, contact_id)
            if contact is None:
                raise DeskError("contact_id", f"no contact {contact_id}")
            lang = contact.language if contact.language in ("de", "en") else "de"
            values = {"subject": template.subject[lang].format(**answers)[:300],
                      "description": template.notes[lang].format(**answers), "category": template.category,
                      "priority": Priority.NORMAL, "contact_id": contact_id}
            ticket = add_ticket(s, self.policy, values, kind, actor, now)
            s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=actor, field="standard_request", new=key,
                                note=json.dumps({"template": key, "contact_id": contact_id, **answers},
                                                ensure_ascii=False)))
            for field, old, new in (("first_contact_resolution", "false", "true"),
                                    ("status", ticket.status.value, TicketStatus.RESOLVED.value)):
                s.add(TicketHistory(ticket_id=ticket.id, at=now, actor=actor, field=field, old=old, new=new,
                                    note=f"standard request {key}: solved on first contact"))
            ticket.first_contact_resolution, ticket.status = True, TicketStatus.RESOLVED
            note_status(ticket, TicketStatus.RESOLVED, now)
            s.flush()
            enqueue(s, ticket, "resolved", now, self.notices)
            return ticket_dict(ticket, now)
