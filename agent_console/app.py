"""create_app(settings): the one composition root.

Layer: edge. It only wires: it builds every object, passes collaborators in
through constructors, connects each consumer to the bus with one
`subscribe(bus)` line, and starts and stops what runs in the background (in
reverse order). Nothing is created at import time; no other module builds
another component's collaborators. Jobs live in agent_console.jobs, the start and
stop order in agent_console.lifecycle, the OpenAPI document in agent_console.openapi.
The settings-dependent builders and start-up checks are in agent_console.assembly.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from callqueue.feed import QueueFeed
from callqueue.live import QueueProjection
from fastapi import FastAPI

from agent_console import http_request, middleware
from agent_console.agi_ivr import IvrScripts
from agent_console.agi_routes import build_agi
from agent_console.assembly import (
    ConfigError,
    aggregates_of,
    board_of,
    bridge_of,
    check,
    dispose,
    escalation_of,
    pbx_of,
    policy_of,
    writer_of,
)
from agent_console.fax_in import spool_of
from agent_console.gc_quiet import QuietCollector
from agent_console.hub import Hub
from agent_console.jobs import Jobs
from agent_console.lifecycle import Running
from agent_console.login_guard import LoginGuard
from agent_console.mail_in import listener_of
from agent_console.mail_out import notices_of, sender_of
from agent_console.notifier import PopNotifier
from agent_console.openapi import add_docs
from agent_console.pops import PopEnricher
from agent_console.routes import add_routes, body_limits
from agent_console.services import Services
from agent_console.session_watch import SessionWatch
from agent_console.sessions import Sessions
from agent_console.settings import Settings
from agent_console.wallboard import WallboardPush
from agent_console.web import add_error_shapes, add_pages
from cti.bus import EventBus
from tickets.appointments import Appointments
from tickets.customers import CustomerService
from tickets.db import database_ok, make_engine, session_factory
from tickets.departments import Departments, Targets
from tickets.desk import TicketDesk
from tickets.intake import Conversation, IntakeService
from tickets.kb import KnowledgeBase
from tickets.kb_links import KbLinks
from tickets.lookup import CustomerLookup
from tickets.notice_templates import NoticeTemplates
from tickets.pop_history import histories
from tickets.reconcile import Reconciler
from tickets.recorder import CallRecorder
from tickets.standard_requests import StandardRequests
from tickets.users import UserService
from tickets.visibility import ticket_parties, tickets_parties
from tickets.worker_process import run_in

__all__ = ["ConfigError", "build", "create_app"]  # ConfigError: what `hotline serve` catches


# seconds a report waits for the aggregates' process to catch up (it may be busy with a long
# rebuild); then it reads without: days still dirty are read from raw rows, never stale
REPORT_CATCH_UP_WAIT = 5.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def build(settings: Settings, clock: Callable[[], datetime] = _utcnow) -> Running:
    check(settings)
    engine, reads = make_engine(settings.database_url), make_engine(settings.database_url, ping=False)
    lookups = make_engine(settings.database_url, ping=False, generic_plans=True)  # the lookup's alone
    db = session_factory(engine)
    policy, notices = policy_of(settings), notices_of(settings)
    desk, lookup = TicketDesk(db, policy, notices), CustomerLookup(db, settings.default_region, lookups)
    customers = CustomerService(db, settings.default_region)
    users = UserService(db)
    kb = KnowledgeBase(db, clock, reads)
    intake = IntakeService(db, policy, notices, settings.default_region)
    bus, hub = EventBus(), Hub()
    feed = QueueFeed(QueueProjection(threshold=settings.service_level_seconds,
                                     short_abandon=settings.short_abandon_seconds),
                     clock, settings.timezone, settings.queue_name)
    enricher = PopEnricher(lookup, desk, customers, partial(tickets_parties, db), partial(histories, db))
    notifier = PopNotifier(hub, enricher, clock, partial(ticket_parties, db), settings.site)
    wallboard = WallboardPush(hub, feed.projection, clock, settings.mask_caller_numbers, site=settings.site,
                              after=notifier.quiet)  # the rings first, and the agents' states
    writer = writer_of(settings, db, policy, bus, notices)
    bridge = bridge_of(settings, bus, clock)
    pbx, bus_link = pbx_of(settings, bus, bridge, clock)
    reconciler = (Reconciler(db, Path(settings.queue_log), settings.reconcile_hours, settings.default_region,
                             settings.site)
                  if settings.queue_log and not settings.web_only else None)
    jobs = Jobs(bus, db, writer, feed, clock, bridge, reconciler, 0 if settings.web_only else settings.retention_days,
                *aggregates_of(settings, db))
    escalation = escalation_of(settings, db, policy, bus, hub, clock)

    feed.subscribe(bus)
    jobs.subscribe(bus)
    notifier.subscribe(bus)
    wallboard.watch(feed)
    wallboard.subscribe(bus)
    if bus_link is not None:  # relayed events out, and shared ones (ticket edits) both ways
        bus_link.subscribe(bus)
    if not settings.web_only:  # only the bridge instance's writer writes
        CallRecorder(writer).subscribe(bus)

    sessions = Sessions.from_settings(settings, db, clock)
    services = Services(
        settings=settings, clock=clock, bus=bus, users=users,
        sessions=sessions, session_watch=SessionWatch(sessions, settings.ws_session_check_seconds),
        login=LoginGuard.from_settings(settings),
        customers=customers, lookup=lookup,
        desk=desk, departments=Departments(db), targets=Targets(db), appointments=Appointments(db),
        escalation=escalation, standard_requests=StandardRequests(db, policy, notices),
        kb=kb, kb_links=KbLinks(db, kb, clock), intake=intake, conversation=Conversation(db),
        notice_templates=NoticeTemplates(db),
        request_desk=http_request.RequestDesk.from_settings(settings, intake),
        hub=hub, queue_feed=feed, wallboard=wallboard, notifier=notifier, writer=writer,
        database_ok=lambda: database_ok(engine), close_database=partial(dispose, engine, reads, lookups),
        pbx=pbx, bus_link=bus_link, site_board=board_of(settings, hub, feed, bridge, bus_link, db, clock))
    ivr = IvrScripts(db, lookup, settings.timezone, clock, bus.publish, settings.mask_caller_numbers,
                     site=settings.site)
    services.surveys = ivr
    if jobs.aggregates is not None and jobs.aggregates_in is not None:  # reports catch up there too
        services.report_catch_up = partial(run_in, jobs.aggregates_in, jobs.aggregates, timeout=REPORT_CATCH_UP_WAIT)
    if settings.gc_full_every:
        services.gc = QuietCollector(lambda: bus.published, settings.gc_full_every)
    agi = build_agi(settings, lookup, bridge, policy, clock, feed.projection, db, ivr)
    if agi is not None and agi.dispatcher is not None:
        agi.dispatcher.subscribe(bus)
        jobs.callback_results = agi.dispatcher.settle  # a result AMI did not bring, from queue_log
    return Running(services, bridge, jobs, agi=agi,
                   mail=listener_of(settings, intake, clock), sender=sender_of(settings, db, clock),
                   escalation=escalation, fax=spool_of(settings, intake, clock))


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = _utcnow) -> FastAPI:
    running = build(settings or Settings(), clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await running.start()
        try:
            yield
        finally:
            await running.stop()

    app = FastAPI(title="hotline", version="0.1.0", lifespan=lifespan, openapi_url=None, docs_url=None,
                  redoc_url=None, description="Help-desk hotline on Asterisk: screen pops, tickets, live queue.")
    app.state.services = running.services
    app.state.jobs = running.jobs
    app.state.mail = running.mail  # the mail listener (its port, for `hotline up` and tests)
    app.state.sender = running.sender  # the notification sender (tests wake it)
    app.state.fax = running.fax  # the fax spool reader
    add_routes(app)
    add_pages(app)
    add_docs(app)
    add_error_shapes(app)
    middleware.install(app, running.services.settings, body_limits(running.services.settings))
    return app
