"""Reports for supervisors: a period's figures as JSON or CSV, and the admin's
per-agent switch.

Layer: edge. Agents get 403 (desk-wide figures are supervisor data). The
figures come from tickets.report_* (pure) over tickets.report_data's facts.
Per-agent figures are off by default; then `group=agent` is refused and the
rows of groups served by fewer than five agents are suppressed. Turning the
switch is an admin's, stored (tickets.desk_settings) and audited.
"""

from __future__ import annotations

import logging
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from agent_console.auth import ADMIN, SUPERVISOR, SessionUser
from agent_console.fields import EARLIEST, LATEST
from agent_console.services import Services, ServicesDep
from agent_console.settings import Settings
from tickets import desk_settings, report_agg_read, report_agg_store, report_data
from tickets.models import Priority
from tickets.report_build import build, to_csv
from tickets.report_facts import FcrRule
from tickets.report_figures import AGENT_GROUP, GROUPS, ReportRules
from tickets.report_period import Period, PeriodError, period

log = logging.getLogger(__name__)

router = APIRouter(tags=["reports"])
GroupName = Literal["", "queue", "organisation", "team", "channel", "category", "level", "language", "hour",
                    "weekday", "site", "partner", "agent"]
assert set(GroupName.__args__) == {"", AGENT_GROUP, *GROUPS}  # type: ignore[attr-defined]


class ReportSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per_agent: bool


def _period(services: Services, kind: str | None, day: date | None, first: date | None,
            last: date | None) -> Period:
    zone = ZoneInfo(services.settings.timezone)
    if kind is None:
        kind = "custom" if first is not None or last is not None else "month"
    today = services.clock().astimezone(zone).date()
    for name, value in (("date", day), ("from", first), ("to", last)):
        if value is not None and not EARLIEST <= value.year <= LATEST:
            raise HTTPException(422, f"{name}: the year must lie between {EARLIEST} and {LATEST}")
    try:
        return period(kind, zone, anchor=day or today, first=first, last=last)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc


def settings_rules(s: Settings) -> ReportRules:
    """The rules the report aggregates depend on (the rest is applied when reading)."""
    return ReportRules(threshold=s.service_level_seconds, short_abandon=s.short_abandon_seconds,
                       fcr=FcrRule(days=s.fcr_days))


def catch_up(services: Services, r: ReportRules, tz: str, now: datetime) -> None:
    """Bring the aggregates up to date before reading them: in the aggregates' process when
    this instance has one (a busy day's re-aggregation holds no GIL of this process), else
    here. `r` differs from the process's rules only in what is applied when reading. Only
    an optimisation: a report reads the days still dirty from raw rows, so when the process
    is busy for longer than the app's REPORT_CATCH_UP_WAIT the report goes on without it."""
    if services.report_catch_up is not None:
        try:
            services.report_catch_up(now)
            return
        except TimeoutError:  # busy (a long rebuild): read without; days still dirty are read from raw rows
            log.info("report aggregates still catching up; this report reads the dirty days from raw rows")
            return
        except BrokenProcessPool:  # it died doing it (started again at the next submit): do it here
            log.warning("the report aggregates' process died during a catch-up; catching up in this one")
    report_agg_store.catch_up(services.desk.sessions, r, tz, now)


def rules(services: Services, per_agent: bool) -> ReportRules:
    s = services.settings
    projection = services.queue_feed.projection
    wrapup = {q: projection.wrapup_for(q) for q in projection.queues}
    targets = {Priority.CRITICAL.value: s.sla_hours_critical, Priority.HIGH.value: s.sla_hours_high,
               Priority.NORMAL.value: s.sla_hours_normal, Priority.LOW.value: s.sla_hours_low}
    return replace(settings_rules(s), per_agent=per_agent, wrapup=wrapup, targets=targets)


@router.get("/api/reports/summary", response_model=None, responses={
    200: {"description": "the report (JSON), or with format=csv its rows as CSV",
          "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}}})
def summary(services: ServicesDep, who: Annotated[SessionUser, SUPERVISOR],
            kind: Annotated[Literal["day", "week", "month", "custom"] | None, Query(alias="period")] = None,
            day: Annotated[date | None, Query(alias="date")] = None,
            first: Annotated[date | None, Query(alias="from")] = None,
            last: Annotated[date | None, Query(alias="to")] = None,
            group: GroupName = "",
            format: Literal["json", "csv"] = "json") -> dict[str, Any] | Response:
    """One period's figures (day/week/month around `date`, default today; or custom
    `from`..`to`, local dates, both inclusive), total and one row per `group` value."""
    p = _period(services, kind, day, first, last)
    per_agent = desk_settings.per_agent_reports(services.desk.sessions)
    if group == AGENT_GROUP and not per_agent:
        raise HTTPException(403, "per-agent figures are off (an admin can turn them on)")
    r = rules(services, per_agent)
    now = services.clock()
    catch_up(services, r, p.tz, now)
    report = report_agg_read.report(services.desk.sessions, p, group, r, now)
    if report is None:  # a day, per agent, or aggregates of other rules: from the raw rows
        report = build(p, group, report_data.load(services.desk.sessions, p.start, p.end, r.fcr.days), r, now)
    if format == "csv":
        name = f"report-{p.first.isoformat()}-{p.last.isoformat()}{'-' + group if group else ''}.csv"
        return Response(to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return report


@router.get("/api/reports/settings")
def read_settings(services: ServicesDep, who: Annotated[SessionUser, SUPERVISOR]) -> dict[str, Any]:
    return {"per_agent": desk_settings.per_agent_reports(services.desk.sessions),
            "fcr_days": services.settings.fcr_days}


@router.put("/api/reports/settings")
def change_settings(body: ReportSettingsIn, services: ServicesDep,
                    who: Annotated[SessionUser, ADMIN]) -> dict[str, Any]:
    """Turn per-agent figures on or off (admins only; every change is audited)."""
    now: datetime = services.clock()
    desk_settings.change(services.desk.sessions, desk_settings.PER_AGENT_REPORTS,
                         "on" if body.per_agent else "off", who.user.username, now)
    return read_settings(services, who)


@router.get("/api/reports/audit")
def audit(services: ServicesDep, who: Annotated[SessionUser, ADMIN],
          limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, str]]:
    return desk_settings.audit(services.desk.sessions, limit)
