"""Departments and their members, and the resolution targets an admin keeps.

Layer: service (sync; run it off the event loop). Values are checked here, so the
HTTP routes and the `hotline departments` / `hotline targets` commands share the
rules; a bad value raises LevelError (a ValueError naming the field), an unknown
id NotFound.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tickets.field_error import FieldError
from tickets.level_models import Department, DepartmentMember, ResolutionTarget
from tickets.models import Organisation, Priority, User
from tickets.targets import LEVELS

MAX_HOURS = 24 * 366


class LevelError(FieldError):
    pass


class NotFound(LevelError):
    pass


def _name(value: str) -> str:
    name = " ".join(str(value).split())
    if not 1 <= len(name) <= 100:
        raise LevelError("name", "must be 1-100 characters")
    return name


def department_dict(d: Department, members: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": d.id, "name": d.name, "description": d.description}
    if members is not None:
        out["members"] = members
    return out


class Departments:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def all(self, with_members: bool) -> list[dict[str, Any]]:
        with self.sessions() as s:
            found = list(s.scalars(select(Department).order_by(Department.name)))
            members: dict[int, list[str]] = {}
            for m in s.scalars(select(DepartmentMember).order_by(DepartmentMember.username)):
                members.setdefault(m.department_id, []).append(m.username)
            return [department_dict(d, members.get(d.id, []) if with_members else None) for d in found]

    def of_user(self, username: str) -> list[int]:
        with self.sessions() as s:
            return list(s.scalars(select(DepartmentMember.department_id).where(DepartmentMember.username == username)))

    def create(self, name: str, description: str = "", members: list[str] | None = None) -> dict[str, Any]:
        try:
            with self.sessions.begin() as s:
                d = Department(name=_name(name), description=description.strip()[:300])
                s.add(d)
                s.flush()
                self._set_members(s, d.id, members or [])
                return department_dict(d, sorted(set(members or [])))
        except IntegrityError:
            raise LevelError("name", f"a department {name!r} exists already") from None

    def set_members(self, department_id: int, members: list[str]) -> dict[str, Any]:
        with self.sessions.begin() as s:
            d = s.get(Department, department_id)
            if d is None:
                raise NotFound("id", f"no department {department_id}")
            self._set_members(s, department_id, members)
            return department_dict(d, sorted(set(members)))

    def department_of_name(self, name: str) -> int:
        with self.sessions() as s:
            found = s.scalar(select(Department.id).where(Department.name == _name(name)))
        if found is None:
            raise NotFound("name", f"no department {name!r}")
        return found

    @staticmethod
    def _set_members(s: Session, department_id: int, members: list[str]) -> None:
        wanted = sorted(set(members))
        if len(wanted) > 500:
            raise LevelError("members", "at most 500")
        known = set(s.scalars(select(User.username).where(User.username.in_(wanted))))
        unknown = [m for m in wanted if m not in known]
        if unknown:
            raise LevelError("members", f"no such user(s): {', '.join(unknown[:10])}")
        s.execute(delete(DepartmentMember).where(DepartmentMember.department_id == department_id))
        s.add_all(DepartmentMember(department_id=department_id, username=m) for m in wanted)


def target_dict(t: ResolutionTarget) -> dict[str, Any]:
    return {"organisation_id": t.organisation_id, "priority": t.priority, "level": t.level, "hours": t.hours}


class Targets:
    """Resolution targets: hours of service time per (organisation or default) x priority x level."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def all(self) -> list[dict[str, Any]]:
        with self.sessions() as s:
            rows = s.scalars(select(ResolutionTarget).order_by(
                ResolutionTarget.organisation_id.nulls_first(), ResolutionTarget.priority, ResolutionTarget.level))
            return [target_dict(t) for t in rows]

    def set(self, organisation_id: int | None, priority: str, level: int, hours: float | None) -> dict[str, Any]:
        """Store (or with hours None remove) one target; the default when organisation_id is None."""
        try:
            priority = Priority(priority).value
        except ValueError:
            raise LevelError("priority", f"must be one of {', '.join(p.value for p in Priority)}") from None
        if isinstance(level, bool) or level not in LEVELS:
            raise LevelError("level", "must be 0 (whole ticket), 1, 2 or 3")
        if hours is not None and not 0 < hours <= MAX_HOURS:
            raise LevelError("hours", f"must be more than 0 and at most {MAX_HOURS}")
        with self.sessions.begin() as s:
            if organisation_id is not None and s.get(Organisation, organisation_id) is None:
                raise NotFound("organisation_id", f"no organisation {organisation_id}")
            match = (ResolutionTarget.organisation_id.is_(None) if organisation_id is None
                     else ResolutionTarget.organisation_id == organisation_id)
            s.execute(delete(ResolutionTarget).where(match, ResolutionTarget.priority == priority,
                                                     ResolutionTarget.level == level))
            if hours is not None:
                s.add(ResolutionTarget(organisation_id=organisation_id, priority=priority, level=level, hours=hours))
        return {"organisation_id": organisation_id, "priority": priority, "level": level, "hours": hours}
