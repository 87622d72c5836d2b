"""Queues for supervisors: the live view and any interval's figures.

Layer: edge. Agents get 403 here: queue-wide figures are supervisor data.
"""

from __future__ import annotations

from typing import Annotated, Any

from callqueue.metrics import figures
from fastapi import APIRouter, HTTPException, Path, Query

from agent_console import views
from agent_console.auth import SUPERVISOR, SessionUser
from agent_console.fields import AwareTime
from agent_console.services import ServicesDep
from tickets.reports import finished_calls

router = APIRouter(tags=["queues"])
# no control characters: PostgreSQL refuses NUL in a query, a 422 here rather than a 500
QueueName = Annotated[str, Path(max_length=64, pattern=r"^[^\x00-\x1f]*$")]


@router.get("/api/queues")
def live(services: ServicesDep, who: Annotated[SessionUser, SUPERVISOR]) -> list[dict[str, Any]]:
    return services.wallboard.views()


@router.get("/api/sites")
def sites(services: ServicesDep, who: Annotated[SessionUser, SUPERVISOR]) -> dict[str, Any]:
    """Every site and the virtual hotline (their sum): live waiting callers and agents of the
    sites that are up, today's figures of every site; a site that is down says so (`state`,
    `reason`, `stale`) and is named in `total.missing`."""
    if services.site_board is None:
        raise HTTPException(404, "no sites board on this instance")
    return services.site_board.view()


@router.get("/api/queues/{name}/stats")
def stats(name: QueueName, services: ServicesDep, who: Annotated[SessionUser, SUPERVISOR],
          from_: Annotated[AwareTime, Query(alias="from")],
          to: Annotated[AwareTime, Query()]) -> dict[str, Any]:
    if to <= from_:
        raise HTTPException(422, "to must be after from")
    s = services.settings
    calls = [c for _, _, c in finished_calls(services.desk.sessions, from_, to, queue=name)]
    f = figures(calls, s.service_level_seconds, s.short_abandon_seconds)
    return {"queue": name, "from": from_.isoformat(), "to": to.isoformat(), **views.figures_json(f)}


@router.get("/api/surveys/today")
async def surveys_today(services: ServicesDep, who: Annotated[SessionUser, SUPERVISOR]) -> dict[str, Any]:
    """Today's post-call survey answers (CSAT 1-5, the hotline's time zone): mean and count.
    The wallboard shows it and updates it from `survey.answered` messages."""
    if services.surveys is None:
        return {"average": None, "count": 0}
    mean, count = await services.surveys.today()
    return {"average": mean, "count": count}
