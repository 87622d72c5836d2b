"""Departments, resolution targets, task-force alarms and the time a ticket spent at
each level.

Layer: edge. Every logged-in user may list the departments (the ticket editor's
choice); their members, the targets and the task-force alarms are for supervisors
and admins; only an admin creates departments, sets members and targets.
Bad values are 422 with the field named; unknown ids 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field

from agent_console.access import check_ticket
from agent_console.auth import ADMIN, ANY, SUPERVISOR, SessionUser
from agent_console.fields import OneLine
from agent_console.services import ServicesDep
from tickets.departments import LevelError, NotFound
from tickets.escalation import open_alarms, time_at_levels
from tickets.models import Priority

router = APIRouter(tags=["levels"])
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s\x00]+$")]


class DepartmentIn(BaseModel):
    name: OneLine = Field(min_length=1, max_length=100)
    description: OneLine = Field("", max_length=300)
    members: list[Username] = Field(default_factory=list, max_length=500)


class MembersIn(BaseModel):
    members: list[Username] = Field(max_length=500)


class TargetIn(BaseModel):
    organisation_id: int | None = Field(None, ge=1, le=MAX_ID)
    priority: Priority
    level: int = Field(ge=0, le=3)
    hours: float | None = Field(gt=0, le=24 * 366)  # null: remove the target


def _refused(exc: LevelError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, NotFound) else 422, str(exc))


@router.get("/api/departments")
def departments(services: ServicesDep, who: Annotated[SessionUser, ANY]) -> list[dict[str, Any]]:
    """Every department by name; with `members` for supervisors and admins."""
    return services.departments.all(with_members=who.supervisor)


@router.get("/api/departments/mine")
def my_departments(services: ServicesDep, who: Annotated[SessionUser, ANY]) -> list[int]:
    """The ids of the departments the user is a member of (the list's department view)."""
    return services.departments.of_user(who.user.username)


@router.post("/api/departments", status_code=201)
def create_department(body: DepartmentIn, services: ServicesDep,
                      who: Annotated[SessionUser, ADMIN]) -> dict[str, Any]:
    try:
        return services.departments.create(body.name, body.description, body.members)
    except LevelError as exc:
        raise _refused(exc) from exc


@router.put("/api/departments/{department_id}/members")
def set_members(department_id: Id, body: MembersIn, services: ServicesDep,
                who: Annotated[SessionUser, ADMIN]) -> dict[str, Any]:
    """Replace the department's members (usernames of existing users)."""
    try:
        return services.departments.set_members(department_id, body.members)
    except LevelError as exc:
        raise _refused(exc) from exc


@router.get("/api/resolution-targets")
def targets(services: ServicesDep, who: Annotated[SessionUser, SUPERVISOR]) -> list[dict[str, Any]]:
    """Hours of service time per (organisation_id, null = default) x priority x level (0 = whole ticket)."""
    return services.targets.all()


@router.put("/api/resolution-targets")
def set_target(body: TargetIn, services: ServicesDep, who: Annotated[SessionUser, ADMIN]) -> dict[str, Any]:
    """Store one target (hours null: remove it). Applies to levels entered from now on."""
    try:
        return services.targets.set(body.organisation_id, body.priority, body.level, body.hours)
    except LevelError as exc:
        raise _refused(exc) from exc


@router.get("/api/taskforce")
def taskforce(services: ServicesDep, who: Annotated[SessionUser, SUPERVISOR]) -> list[dict[str, Any]]:
    """Open tickets past their contractual resolution time (task-force alarm raised)."""
    return open_alarms(services.desk.sessions, services.clock())


@router.get("/api/tickets/{ticket_id}/levels")
def levels(ticket_id: Id, services: ServicesDep, who: Annotated[SessionUser, ANY]) -> list[dict[str, Any]]:
    """Seconds at each level, wall clock and inside service hours (to resolved_at, or now)."""
    check_ticket(services, who, ticket_id)
    found = time_at_levels(services.desk.sessions, ticket_id, services.desk.policy, services.clock())
    if found is None:
        raise HTTPException(404, f"no ticket {ticket_id}")
    return found
