"""Departments (2nd/3rd-level work queues), resolution targets, on-site appointments.

Layer: storage. Imports tickets.models' Base only; must not import agent_console.
A ticket belongs to at most one department (tickets.department_id); its members
see the department's tickets (tickets.visibility). A resolution target is the
service time (hours) a ticket of one priority may spend at one level, for one
organisation or (organisation_id NULL) for everyone else; level 0 is the whole
ticket, the contractual resolution time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tickets.models import Base, UtcDateTime, utcnow


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")


class DepartmentMember(Base):
    __tablename__ = "department_members"
    __table_args__ = (UniqueConstraint("department_id", "username", name="uq_department_members"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)


class ResolutionTarget(Base):
    __tablename__ = "resolution_targets"
    # one row per (organisation or default) x priority x level; NULLs are distinct in a UNIQUE
    # constraint, so tickets.targets keeps the default rows single itself
    __table_args__ = (UniqueConstraint("organisation_id", "priority", "level", name="uq_resolution_targets"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    priority: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(Integer)  # 1, 2, 3; 0 = the whole ticket (contract)
    hours: Mapped[float] = mapped_column(Float)  # service hours


class Appointment(Base):
    """An on-site visit booked on a ticket: when, where, which technician."""

    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_technician_start", "technician", "starts_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    place: Mapped[str] = mapped_column(String(300))
    technician: Mapped[str] = mapped_column(String(64))  # a username
    note: Mapped[str] = mapped_column(Text, default="")
    booked_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
