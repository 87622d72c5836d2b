"""Who gets a ticket's `ticket.*` messages, and a ticket edit waiting to learn it.

Layer: service glue (asyncio futures; no hub I/O, no database: the parties are read by
the caller's function on a worker thread). Used by agent_console.notifier, whose queue
(agent_console.work_queue) parks an edit while its parties are read, so a slow read holds
up no pop; the read is bounded (PARTIES_WAIT), and a failed or late one fails closed:
supervisors only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent_console.hub import SUPERVISORS_ONLY, Audience
from cti.tasks import TaskSet
from tickets.events import TicketUpdated
from tickets.sites import DEFAULT_SITE
from tickets.visibility import Parties

log = logging.getLogger(__name__)
PARTIES_WAIT = 5.0  # seconds an edit waits for its parties; then it goes to supervisors only


def ticket_audience(parties: Parties | None, site: str = DEFAULT_SITE) -> Audience:
    """Supervisors, and the agents who may see the ticket by tickets.visibility (owner,
    creator, agent on its calls, its team, its department). The agents on its calls by
    endpoint only for the calls at `site` (this instance's): the hub's endpoints are this
    site's phones, another site's PJSIP/1001 is someone else."""
    if parties is None:
        return SUPERVISORS_ONLY
    return Audience(supervisors=True, endpoints=frozenset(e for s, e in parties.agents if s == site),
                    usernames=frozenset(p for p in (parties.assignee, parties.created_by) if p)
                    | parties.department_members,
                    teams=frozenset([parties.team]) if parties.team else frozenset())


@dataclass(frozen=True, slots=True)
class Audienced:
    """A ticket edit whose parties are being read."""

    update: TicketUpdated
    read: asyncio.Future[Parties | None]


def read_parties(update: TicketUpdated, parties: Callable[[int], Parties | None],
                 tasks: TaskSet) -> tuple[Audienced, asyncio.Future[Any], float]:
    """Start reading the edit's parties on a worker thread: (the edit to publish once they
    are read, the read, the most seconds to wait for it), as WorkQueue's `wait_of` returns."""
    read = tasks.spawn(asyncio.to_thread(parties, update.id), f"ticket-parties-{update.id}")
    read.add_done_callback(_looked_at)
    return Audienced(update, read), read, PARTIES_WAIT


def audience_of(item: Audienced, site: str) -> Audience:
    """Who gets the edit: its parties as read, or, when the read failed or was not done
    within PARTIES_WAIT, supervisors only (fail closed)."""
    read = item.read
    if not read.done():
        read.cancel()
        why = f"not read within {PARTIES_WAIT:g} s"
    elif read.cancelled():
        why = "read cancelled"
    elif (exc := read.exception()) is not None:
        why = repr(exc)
    else:
        return ticket_audience(read.result(), site)
    log.error("parties of ticket %s unknown (%s); ticket.updated to supervisors only", item.update.id, why)
    return SUPERVISORS_ONLY


def _looked_at(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
