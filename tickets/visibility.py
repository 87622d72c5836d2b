"""Who may see and edit a ticket, and which calls an agent may see.

Layer: domain (no I/O). `may_see` is the rule on one ticket's parties; `visible`
is the same rule as a SQL condition for lists, and `parties` reads one ticket's
parties (both build or run plain statements on a session the caller owns).

The rule (issue 11, rows 6 and 7): supervisors and admins see everything. An
agent sees a ticket they own — its assignee, its creator (the `created` history
row's actor), or the agent on one of its calls — and the tickets of their teams
(user.teams against ticket.team), and the tickets of the departments they are a
member of (ticket.department_id; tickets.level_models). Editing follows seeing: a help desk works as
one team per focus group, so a colleague of the same team may take over a case.

Unassigned, team-less tickets that nobody owns (an intake ticket not yet
triaged) are NOT shown to every agent: the dispatcher (a supervisor) sets their
team or assignee. A pool open to all agents would put every untriaged ticket,
with the caller's text, in front of agents of other customer teams — the leak
this rule closes. An agent sees a call only when it was theirs (its agent
endpoint is the agent's own at the agent's site: each site's Asterisk has its own
PJSIP/1001, so an endpoint alone names no one; the call's site says whose it was).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session, sessionmaker

from tickets.level_models import DepartmentMember
from tickets.models import CallRecord, Role, Ticket, TicketHistory
from tickets.sites import DEFAULT_SITE

CREATED = "created"  # the history field whose actor is the ticket's creator


@dataclass(frozen=True, slots=True)
class Viewer:
    username: str
    endpoint: str | None
    teams: frozenset[str]
    everything: bool  # supervisor or admin
    site: str = DEFAULT_SITE  # where the endpoint is: the agent's calls are (site, endpoint)

    @classmethod
    def of(cls, username: str, role: Role, endpoint: str | None, teams: Iterable[str],
           site: str = DEFAULT_SITE) -> Viewer:
        return cls(username, endpoint, frozenset(t for t in teams if t),
                   role in (Role.SUPERVISOR, Role.ADMIN), site)

    @property
    def phone(self) -> tuple[str, str] | None:
        """(site, endpoint): the phone whose calls are the viewer's; None without one."""
        return (self.site, self.endpoint) if self.endpoint is not None else None


@dataclass(frozen=True, slots=True)
class Parties:
    """Whose a ticket is: the fields the rule reads."""

    assignee: str = ""
    team: str = ""
    created_by: str = ""
    agents: frozenset[tuple[str, str]] = frozenset()  # (site, endpoint) of the agents on its calls
    department_members: frozenset[str] = frozenset()  # usernames of its department's members


def may_see(viewer: Viewer, parties: Parties) -> bool:
    if viewer.everything:
        return True
    owners = {p for p in (parties.assignee, parties.created_by) if p}
    return (viewer.username in owners or (bool(parties.team) and parties.team in viewer.teams)
            or (viewer.phone is not None and viewer.phone in parties.agents)
            or viewer.username in parties.department_members)


may_edit = may_see  # see the module docstring: editing follows seeing


def may_see_call(viewer: Viewer, agent: str | None, site: str | None = DEFAULT_SITE) -> bool:
    """The call at `site` taken by `agent` is the viewer's own (or they see everything)."""
    return viewer.everything or (viewer.phone is not None and (site, agent) == viewer.phone)


def _on_call_of(site: str, endpoint: str) -> ColumnElement[bool]:
    return exists(select(CallRecord.id).where(
        CallRecord.agent == endpoint, CallRecord.site == site,
        or_(CallRecord.ticket_id == Ticket.id,
            and_(Ticket.linkedid.is_not(None), CallRecord.linkedid == Ticket.linkedid,
                 CallRecord.site == Ticket.site))))


def _created_by(username: str) -> ColumnElement[bool]:
    return exists(select(TicketHistory.id).where(
        TicketHistory.ticket_id == Ticket.id, TicketHistory.field == CREATED,
        TicketHistory.actor == username))


def owned(viewer: Viewer) -> ColumnElement[bool]:
    """Tickets the viewer owns: assignee, creator, or the agent on one of its calls
    (the "my tickets" view; for a supervisor too, not everything)."""
    terms: list[ColumnElement[bool]] = [Ticket.assignee == viewer.username, _created_by(viewer.username)]
    if viewer.phone is not None:
        terms.append(_on_call_of(*viewer.phone))
    return or_(*terms)


def in_departments_of(username: str) -> ColumnElement[bool]:
    """Tickets of a department the user is a member of."""
    return Ticket.department_id.in_(select(DepartmentMember.department_id)
                                    .where(DepartmentMember.username == username))


def visible(viewer: Viewer) -> ColumnElement[bool]:
    """`may_see` as a condition on Ticket rows (for a WHERE clause)."""
    if viewer.everything:
        return true()
    terms = [owned(viewer), in_departments_of(viewer.username)]
    if viewer.teams:
        terms.append(and_(Ticket.team != "", Ticket.team.in_(sorted(viewer.teams))))
    return or_(*terms)


def call_visible(viewer: Viewer) -> ColumnElement[bool]:
    """`may_see_call` as a condition on CallRecord rows."""
    if viewer.everything:
        return true()
    if viewer.phone is None:
        return false()
    site, endpoint = viewer.phone
    return and_(CallRecord.agent == endpoint, CallRecord.site == site)


def tickets_parties(sessions: sessionmaker[Session], ticket_ids: Iterable[int]) -> dict[int, Parties]:
    """The parties of several tickets (a pop's open tickets), in a session of its own."""
    with sessions() as session:
        return parties_of(session, ticket_ids)


def ticket_parties(sessions: sessionmaker[Session], ticket_id: int) -> Parties | None:
    """One ticket's parties (None: no such ticket), in a session of its own."""
    return tickets_parties(sessions, [ticket_id]).get(ticket_id)


def parties_of(session: Session, ticket_ids: Iterable[int]) -> dict[int, Parties]:
    """Whose each ticket is, in four statements whatever their number; a ticket that does
    not exist is left out."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return {}
    tickets = session.execute(select(Ticket.id, Ticket.assignee, Ticket.team, Ticket.department_id,
                                     Ticket.site, Ticket.linkedid).where(Ticket.id.in_(ids))).all()
    creators: dict[int, str] = {}
    for tid, actor in session.execute(select(TicketHistory.ticket_id, TicketHistory.actor).where(
            TicketHistory.ticket_id.in_(ids), TicketHistory.field == CREATED).order_by(TicketHistory.id)):
        creators.setdefault(tid, actor or "")
    by_call = {(t.site, t.linkedid): t.id for t in tickets if t.linkedid is not None}
    agents: dict[int, set[tuple[str, str]]] = {}
    linked: ColumnElement[bool] = CallRecord.ticket_id.in_(ids)
    if by_call:
        linked = or_(linked, CallRecord.linkedid.in_(sorted({lid for _, lid in by_call})))
    for call_ticket, site, lid, agent in session.execute(
            select(CallRecord.ticket_id, CallRecord.site, CallRecord.linkedid, CallRecord.agent)
            .where(linked, CallRecord.agent.is_not(None))):
        for owner in (call_ticket, by_call.get((site, lid))):
            if owner in ids and agent:
                agents.setdefault(owner, set()).add((site, agent))
    departments = {t.department_id for t in tickets if t.department_id is not None}
    members: dict[int, set[str]] = {}
    if departments:
        for dep, username in session.execute(select(DepartmentMember.department_id, DepartmentMember.username)
                                             .where(DepartmentMember.department_id.in_(sorted(departments)))):
            members.setdefault(dep, set()).add(username)
    return {t.id: Parties(t.assignee, t.team, creators.get(t.id, ""), frozenset(agents.get(t.id, ())),
                          frozenset(members.get(t.department_id, ()) if t.department_id is not None else ()))
            for t in tickets}

