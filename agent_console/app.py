"""create_app(settings): the one composition root.

Layer: edge. Builds every object (database, services, bus, AMI bridge,
projection, hub, notifier, writer) and hands them to the routes through
`app.state.services`; nothing is created at import time. The lifespan starts
the named background tasks and stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callqueue.live import QueueProjection
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from agent_console import http_agent, http_calls, http_customers, http_ops, http_queues, http_session, http_tickets, ws
from agent_console.auth import LoginLimiter, Sessions
from agent_console.errors import error_body, field_errors
from agent_console.hub import Hub
from agent_console.notifier import Notifier
from agent_console.pbx_port import LocalPbx
from agent_console.pops import PopEnricher
from agent_console.redis_link import Channels
from agent_console.redis_relay import BridgeRelay
from agent_console.redis_remote import RemoteBridge
from agent_console.services import Services
from agent_console.settings import Settings
from cti import events as ev
from cti import queue_log
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.calls import CallRegistry
from tickets import writer_process
from tickets.calls_service import TicketService
from tickets.customers import CustomerService
from tickets.db import make_engine, session_factory
from tickets.desk import TicketDesk
from tickets.lookup import CustomerLookup
from tickets.reconcile import unrecorded
from tickets.reports import finished_calls
from tickets.retention import purge
from tickets.sla import ServiceHours, SlaPolicy
from tickets.users import UserService
from tickets.writer import DbWriter
from tickets.writer_process import WriterConfig

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "index.html", "/console": "console.html", "/wallboard": "wallboard.html"}


class ConfigError(RuntimeError):
    """A setting needed to start is missing or wrong; the message names it."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _policy(s: Settings) -> SlaPolicy:
    from tickets.models import Priority

    hours = {Priority.CRITICAL: s.sla_hours_critical, Priority.HIGH: s.sla_hours_high,
             Priority.NORMAL: s.sla_hours_normal, Priority.LOW: s.sla_hours_low}
    return SlaPolicy(hours, ServiceHours.parse(s.service_hours) if s.service_hours else None, s.timezone)


def _writer(settings: Settings, db: Any, policy: SlaPolicy, bus: EventBus) -> DbWriter:
    window = timedelta(minutes=settings.callback_window_minutes)
    if settings.writer_process:  # the loop never waits for the writer's GIL
        config = WriterConfig(settings.database_url, policy, window, settings.short_abandon_seconds)
        return DbWriter(writer_process.handle, on_result=bus.publish, executor=writer_process.executor(config))
    tickets = TicketService(db, policy=policy, callback_window=window,
                            short_abandon_seconds=settings.short_abandon_seconds)
    return DbWriter(tickets.handle, on_result=bus.publish)


def build_services(settings: Settings, clock: Callable[[], datetime] = _utcnow) -> Services:
    if settings.session_secret is None or len(settings.session_secret.get_secret_value()) < 16:
        raise ConfigError("HOTLINE_SESSION_SECRET is not set (at least 16 characters)")
    if settings.ami_enabled and settings.ami_secret is None:
        raise ConfigError("HOTLINE_AMI_SECRET is not set (or set HOTLINE_AMI_ENABLED=false)")
    engine = make_engine(settings.database_url)
    db = session_factory(engine)
    policy = _policy(settings)
    users, desk = UserService(db), TicketDesk(db, policy)
    customers = CustomerService(db, settings.default_region)
    lookup = CustomerLookup(db, settings.default_region)
    bus, hub = EventBus(), Hub()
    projection = QueueProjection(threshold=settings.service_level_seconds,
                                 short_abandon=settings.short_abandon_seconds)
    notifier = Notifier(hub, projection, PopEnricher(lookup, desk, customers), clock,
                        settings.mask_caller_numbers)
    writer = _writer(settings, db, policy, bus)
    bridge = None
    if settings.ami_enabled and settings.ami_secret is not None:
        bridge = AmiBridge(host=settings.ami_host, port=settings.ami_port, username=settings.ami_username,
                           secret=settings.ami_secret.get_secret_value(), bus=bus,
                           registry=CallRegistry(settings.default_region), clock=clock,
                           queue=settings.queue_name)

    bus_link = _bus_link(settings, bus, bridge, clock)

    def database_ok() -> bool:
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            return True
        except Exception:
            return False

    return Services(settings=settings, clock=clock, bus=bus, users=users,
                    sessions=Sessions(settings.session_secret.get_secret_value(), users, settings.cookie_secure),
                    limiter=LoginLimiter(settings.login_rate_limit_per_minute), customers=customers,
                    lookup=lookup, desk=desk, projection=projection, hub=hub, notifier=notifier,
                    writer=writer, bridge=bridge, database_ok=database_ok,
                    close_database=engine.dispose,
                    pbx=bus_link if isinstance(bus_link, RemoteBridge) else (LocalPbx(bridge) if bridge else None),
                    bus_link=bus_link)


def _bus_link(settings: Settings, bus: EventBus, bridge: AmiBridge | None,
              clock: Callable[[], datetime]) -> BridgeRelay | RemoteBridge | None:
    """HOTLINE_REDIS_URL: the bridge instance relays, a web-only instance follows."""
    if not settings.redis_url:
        return None
    channels = Channels.of(settings.redis_prefix, settings.queue_name)
    if bridge is not None:
        return BridgeRelay(settings.redis_url, channels, bridge, clock)
    return RemoteBridge(settings.redis_url, channels, bus, clock, settings.redis_action_timeout)


def _wire(services: Services) -> None:
    services.notifier.subscribe(services.bus)
    if services.bus_link is not None:  # relayed events out, and shared ones (ticket edits) both ways
        services.bus_link.subscribe(services.bus)
    if not services.settings.web_only:  # only the bridge instance's writer writes
        services.bus.subscribe(ev.CallUpdated, _to_writer(services))


def _to_writer(services: Services) -> Callable[[ev.CallUpdated], None]:
    def submit(update: ev.CallUpdated) -> None:
        if update.change in (ev.CallChange.ANSWERED, ev.CallChange.ENDED):
            services.writer.submit(update)

    return submit


def _day_start(services: Services, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(services.settings.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


async def _load_today(services: Services) -> None:
    now = services.clock()
    start = _day_start(services, now)
    services.projection.day_start = start
    services.projection.queues.add(services.settings.queue_name)
    for queue, ended_at, call in await asyncio.to_thread(
            finished_calls, services.desk.sessions, start, now):
        services.projection.load_finished(queue, ended_at, call)


QUEUE_LOG_TAIL = 32 * 1024 * 1024


def _read_queue_log(path: Path) -> list[str]:
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - QUEUE_LOG_TAIL))
        data = fh.read()
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[1:] if size > QUEUE_LOG_TAIL else lines  # the first may be cut


async def reconcile(services: Services) -> int:
    """Calls that finished while hotline was down get their records and tickets now
    (from Asterisk's queue_log), through the same writer as live calls: exactly once."""
    path = Path(services.settings.queue_log)
    if not services.settings.queue_log:
        return 0
    if not await asyncio.to_thread(path.exists):
        log.warning("HOTLINE_QUEUE_LOG %s does not exist; no reconciliation", path)
        return 0
    since = services.clock() - timedelta(hours=services.settings.reconcile_hours)
    lines = await asyncio.to_thread(_read_queue_log, path)
    members = {a.member_name: a.agent for a in (services.bridge.registry.agent_list() if services.bridge else [])
               if a.member_name}
    calls = [c for c in queue_log.finished_calls(lines, members) if c.ended_at >= since]
    missing = await asyncio.to_thread(unrecorded, services.desk.sessions, calls)
    for call in missing:
        for update in queue_log.as_updates(call, services.settings.default_region):
            services.writer.submit(update)  # not on the bus: no pops for calls long gone
            if update.change == ev.CallChange.ENDED:
                services.projection.apply(update, services.clock())
    if missing:
        log.info("reconciled %d call(s) from %s that ended while hotline was down", len(missing), path)
    return len(missing)


async def _reconcile_after_resync(services: Services, wait: float = 30.0) -> None:
    """After the first resync the bridge knows each queue member's name, which
    queue_log uses for the agent; without a PBX in `wait` s, reconcile anyway."""
    if services.bridge and services.bridge.resyncs == 0:
        resynced = asyncio.Event()
        unsubscribe = services.bus.subscribe(ev.ResyncCompleted, lambda _e: resynced.set())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(resynced.wait(), wait)
        unsubscribe()
    try:
        await reconcile(services)
    except Exception:
        log.exception("reconciliation from queue_log failed")


async def _retention(services: Services) -> None:
    """HOTLINE_RETENTION_DAYS > 0: purge old call records and callbacks hourly."""
    days = services.settings.retention_days
    while days > 0:
        try:
            done = await asyncio.to_thread(purge, services.desk.sessions, days, services.clock())
            if done.call_records or done.callbacks:
                log.info("retention: purged %d call record(s), %d callback(s) older than %d days",
                         done.call_records, done.callbacks, days)
        except Exception:
            log.exception("retention purge failed; trying again in an hour")
        await asyncio.sleep(3600)


async def _sampler(services: Services) -> None:
    """Once a minute: the chart's sample; at local midnight, a new 'today'."""
    while True:
        now = services.clock()
        services.projection.day_start = _day_start(services, now)
        services.projection.sample(now)
        await asyncio.sleep(60 - now.second - now.microsecond / 1e6)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = _utcnow) -> FastAPI:
    services = build_services(settings or Settings(), clock)
    _wire(services)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: set[asyncio.Task[Any]] = set()
        await _load_today(services)
        services.writer.start()
        services.notifier.start()
        loop = asyncio.get_running_loop()
        tasks.add(loop.create_task(_sampler(services), name="queue-sampler"))
        if services.bus_link:
            services.bus_link.start()
        if services.bridge:
            services.bridge.start()
        if not services.settings.web_only:  # writes belong to the one bridge instance
            tasks.add(loop.create_task(_retention(services), name="retention"))
            tasks.add(loop.create_task(_reconcile_after_resync(services), name="reconcile"))
        try:
            yield
        finally:
            if services.bridge:
                await services.bridge.close()
            if services.bus_link:
                await services.bus_link.close()
            for task in tasks:
                task.cancel()
            await services.notifier.close()
            await services.writer.drain()
            await services.writer.close()
            services.close_database()

    app = FastAPI(title="hotline", version="0.1.0", lifespan=lifespan, openapi_url=None, docs_url=None,
                  redoc_url=None, description="Help-desk hotline on Asterisk: screen pops, tickets, live queue.")
    app.state.services = services
    for module in (http_session, http_customers, http_calls, http_tickets, http_queues, http_agent,
                   http_ops, ws):
        app.include_router(module.router)
    _pages(app)
    _docs(app)
    _errors(app)
    return app


def _pages(app: FastAPI) -> None:
    for route, filename in PAGES.items():
        def page(filename: str = filename) -> FileResponse:
            return FileResponse(STATIC / filename, headers={"Cache-Control": "no-store"})

        app.add_api_route(route, page, include_in_schema=False, methods=["GET"])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


_ERROR = {"type": "object", "required": ["detail"],
          "properties": {"detail": {"type": "string"}, "code": {"type": "string"},
                         "errors": {"type": "array", "items": {"type": "object"}}}}
_PBX_ROUTES = ("/api/agent/", "/transfer")


def _answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def truthful_openapi(spec: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's generated document, corrected to what the app answers: every refusal is
    `{"detail": reason}` (422 adds `errors`), 401/403 on every route, 503 without a PBX,
    and /metrics is Prometheus text."""
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation["responses"]
            for code in [c for c in responses if c.startswith("4")]:
                del responses[code]
            responses["401"] = _answer("not logged in (or the session expired)")
            responses["403"] = _answer("wrong role, or the X-CSRF-Token header is missing on a write")
            responses["422"] = _answer("invalid input; `errors` names each field and why")
            responses["4XX"] = _answer("other refusals: unknown id (404), conflict (409), rate limit (429)")
            if any(marker in path for marker in _PBX_ROUTES):
                responses["502"] = _answer("the PBX refused the action")
                responses["503"] = _answer("the PBX is not connected (or, scaled out, the bridge "
                                           "instance is not reachable over Redis or did not answer in time)")
            if path == "/healthz":
                responses["503"] = {"description": "degraded: database, AMI or the Redis bus down "
                                                   "(same body as 200)"}
            if path == "/metrics":
                responses["200"] = {"description": "Prometheus text", "content": {"text/plain": {"schema": {}}}}
    spec.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
    return spec


def _docs(app: FastAPI) -> None:
    """OpenAPI and its viewer, behind a session like every other route."""
    from fastapi.openapi.docs import get_swagger_ui_html

    from agent_console.auth import ANY

    def openapi(_who: Any = ANY) -> JSONResponse:
        if app.openapi_schema is None:
            app.openapi_schema = truthful_openapi(app.openapi())
        return JSONResponse(app.openapi_schema)

    def docs(_who: Any = ANY) -> Any:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="hotline API")

    app.add_api_route("/openapi.json", openapi, include_in_schema=False, methods=["GET"])
    app.add_api_route("/docs", docs, include_in_schema=False, methods=["GET"])


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": "invalid request", "code": "invalid",
                             "errors": field_errors(list(exc.errors()))}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=exc.status_code, headers=exc.headers)
