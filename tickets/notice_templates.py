"""Callers' mail texts an admin has changed: read, save (checked), reset, preview.

Layer: storage service (sync SQLAlchemy; run it off the event loop). Must not
import agent_console. The checking and rendering are tickets/notice_text.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tickets.models import NoticeTemplate
from tickets.notice_text import DEFAULTS, KINDS, LANGUAGES, PLACEHOLDERS, Facts, NoticeText, check, render

# what the preview fills in: a made-up ticket, never a real caller's data
SAMPLE = Facts(number="2026-000123", subject="Drucker im 2. OG druckt nicht", name="Erika Mustermann",
               due_at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC), level=2, team="Netzwerk",
               done="Toner gewechselt, Treiber neu installiert.")


def stored_text(s: Session, kind: str, language: str) -> NoticeText | None:
    """The admin's text for (kind, language) in `s`'s transaction, or None (the default)."""
    row = s.get(NoticeTemplate, (kind, language))
    return NoticeText(row.subject, row.body) if row is not None else None


@dataclass(frozen=True, slots=True)
class Key:
    kind: str
    language: str

    @classmethod
    def of(cls, kind: str, language: str) -> Key | None:
        return cls(kind, language) if kind in KINDS and language in LANGUAGES else None


def _clean(text: NoticeText) -> NoticeText:
    return NoticeText(text.subject.strip(), text.body.replace("\r\n", "\n").replace("\r", "\n"))


class NoticeTemplates:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def all(self) -> list[dict[str, Any]]:
        with self.sessions() as s:
            rows = {(r.kind, r.language): r for r in s.scalars(select(NoticeTemplate))}
        out = []
        for kind in KINDS:
            for language in LANGUAGES:
                row = rows.get((kind, language))
                text = NoticeText(row.subject, row.body) if row else DEFAULTS[(kind, language)]
                out.append({"kind": kind, "language": language, "subject": text.subject, "body": text.body,
                            "placeholders": list(PLACEHOLDERS[kind]), "is_default": row is None,
                            "updated_at": row.updated_at.isoformat() if row else None,
                            "updated_by": row.updated_by if row else None})
        return out

    def save(self, key: Key, text: NoticeText, who: str, now: datetime) -> None:
        """Raises TemplateProblem for a text that cannot be used (nothing is stored then)."""
        text = _clean(text)
        check(key.kind, text)
        with self.sessions.begin() as s:
            row = s.get(NoticeTemplate, (key.kind, key.language))
            if row is None:
                row = NoticeTemplate(kind=key.kind, language=key.language)
                s.add(row)
            row.subject, row.body, row.updated_at, row.updated_by = text.subject, text.body, now, who[:100]

    def reset(self, key: Key) -> None:
        with self.sessions.begin() as s:
            row = s.get(NoticeTemplate, (key.kind, key.language))
            if row is not None:
                s.delete(row)

    @staticmethod
    def preview(key: Key, text: NoticeText, timezone: str = "Europe/Berlin") -> tuple[str, str]:
        """The mail `text` would make for a sample ticket; raises TemplateProblem like save."""
        text = _clean(text)
        check(key.kind, text)
        sample = Facts(SAMPLE.number, SAMPLE.subject, SAMPLE.name, SAMPLE.due_at, SAMPLE.level, SAMPLE.team,
                       SAMPLE.done, timezone)
        return render(key.kind, key.language, sample, text)
