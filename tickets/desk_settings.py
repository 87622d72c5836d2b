"""Switches an admin changes at run time (stored, the same on every web instance)
and their audit trail.

Layer: storage + service (sync). Must not import agent_console. First switch:
`per_agent_reports` (off by default: works-council rule); every change writes
an AuditEvent (who, when, old, new) in the same transaction as the value.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from tickets.models import Base, UtcDateTime

PER_AGENT_REPORTS = "per_agent_reports"
DEFAULTS = {PER_AGENT_REPORTS: "off"}


class DeskSetting(Base):
    __tablename__ = "desk_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    old: Mapped[str] = mapped_column(String(200))
    new: Mapped[str] = mapped_column(String(200))


def read(sessions: sessionmaker[Session], key: str) -> str:
    with sessions() as s:
        value = s.scalar(select(DeskSetting.value).where(DeskSetting.key == key))
    return DEFAULTS[key] if value is None else value


def per_agent_reports(sessions: sessionmaker[Session]) -> bool:
    return read(sessions, PER_AGENT_REPORTS) == "on"


def change(sessions: sessionmaker[Session], key: str, value: str, actor: str, now: datetime) -> bool:
    """Store `value`; an audit event when it changed. True if it changed."""
    if key not in DEFAULTS:
        raise KeyError(key)
    with sessions.begin() as s:
        row = s.get(DeskSetting, key, with_for_update=True)
        old = DEFAULTS[key] if row is None else row.value
        if old == value:
            return False
        if row is None:
            s.add(DeskSetting(key=key, value=value, updated_at=now, updated_by=actor[:100]))
        else:
            row.value, row.updated_at, row.updated_by = value, now, actor[:100]
        s.add(AuditEvent(at=now, actor=actor[:100], action=f"setting.{key}", old=old, new=value))
        return True


def audit(sessions: sessionmaker[Session], limit: int = 100) -> list[dict[str, str]]:
    with sessions() as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
        return [{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "old": r.old, "new": r.new}
                for r in rows]
