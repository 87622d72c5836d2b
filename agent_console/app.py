"""create_app(settings): the one composition root.

Layer: edge. It only wires: it builds every object, passes collaborators in
through constructors, connects each consumer to the bus with one
`subscribe(bus)` line, and starts and stops what runs in the background (in
reverse order). Nothing is created at import time; no other module builds
another component's collaborators. Jobs live in agent_console.jobs, the start and
stop order in agent_console.lifecycle, the OpenAPI document in agent_console.openapi.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from callqueue.feed import QueueFeed
from callqueue.live import QueueProjection
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from agent_console import http_request, middleware
from agent_console.agi_ivr import IvrScripts
from agent_console.agi_routes import build_agi
from agent_console.escalation_job import EscalationJob
from agent_console.fax_in import spool_of
from agent_console.http_reports import settings_rules
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
from agent_console.scaleout.health import BusLink
from agent_console.scaleout.link import Channels
from agent_console.scaleout.port import LocalPbx, PbxPort
from agent_console.scaleout.relay import BridgeRelay
from agent_console.scaleout.remote import RemoteBridge
from agent_console.services import Services
from agent_console.sessions import Sessions
from agent_console.settings import Settings
from agent_console.wallboard import WallboardPush
from agent_console.web import add_error_shapes, add_pages
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.calls import CallRegistry
from tickets import escalation_process, report_agg_store, writer_process
from tickets.appointments import Appointments
from tickets.calls_service import TicketService
from tickets.customers import CustomerService
from tickets.db import database_ok, make_engine, session_factory
from tickets.departments import Departments, Targets
from tickets.desk import TicketDesk
from tickets.escalation import Escalator
from tickets.escalation_process import EscalatorConfig
from tickets.intake import Conversation, IntakeService
from tickets.kb import KnowledgeBase
from tickets.kb_links import KbLinks
from tickets.lookup import CustomerLookup
from tickets.models import Priority
from tickets.notice_templates import NoticeTemplates
from tickets.outbox import NoticeConfig
from tickets.reconcile import Reconciler
from tickets.recorder import CallRecorder
from tickets.service_calendar import parse_region
from tickets.sla import ServiceHours, SlaPolicy
from tickets.standard_requests import StandardRequests
from tickets.users import UserService
from tickets.visibility import ticket_parties
from tickets.writer import DbWriter
from tickets.writer_process import WriterConfig


class ConfigError(RuntimeError):
    """A setting needed to start is missing or wrong; the message names it."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _check(s: Settings) -> None:
    if s.session_secret is None or len(s.session_secret.get_secret_value()) < 16:
        raise ConfigError("HOTLINE_SESSION_SECRET is not set (at least 16 characters)")
    if s.ami_enabled and s.ami_secret is None:
        raise ConfigError("HOTLINE_AMI_SECRET is not set (or set HOTLINE_AMI_ENABLED=false)")


def _dispose(*engines: Engine) -> None:
    for engine in engines:
        engine.dispose()


def _policy(s: Settings) -> SlaPolicy:
    hours = {Priority.CRITICAL: s.sla_hours_critical, Priority.HIGH: s.sla_hours_high,
             Priority.NORMAL: s.sla_hours_normal, Priority.LOW: s.sla_hours_low}
    return SlaPolicy(hours, ServiceHours.parse(s.service_hours) if s.service_hours else None, s.timezone,
                     parse_region(s.holidays))


def _writer(settings: Settings, db: sessionmaker[Session], policy: SlaPolicy, bus: EventBus,
            notices: NoticeConfig | None) -> DbWriter:
    window = timedelta(minutes=settings.callback_window_minutes)
    if settings.writer_process:  # the loop never waits for the writer's GIL
        config = WriterConfig(settings.database_url, policy, window, settings.short_abandon_seconds, notices,
                              settings.site)
        return DbWriter(writer_process.handle, on_result=bus.publish, executor=writer_process.executor(config))
    tickets = TicketService(db, policy=policy, callback_window=window,
                            short_abandon_seconds=settings.short_abandon_seconds, notices=notices,
                            site=settings.site)
    return DbWriter(tickets.handle, on_result=bus.publish)


def _bridge(s: Settings, bus: EventBus, clock: Callable[[], datetime]) -> AmiBridge | None:
    if not s.ami_enabled or s.ami_secret is None:
        return None
    return AmiBridge(host=s.ami_host, port=s.ami_port, username=s.ami_username,
                     secret=s.ami_secret.get_secret_value(), bus=bus,
                     registry=CallRegistry(s.default_region), clock=clock, queue=s.queue_name)


def _pbx(s: Settings, bus: EventBus, bridge: AmiBridge | None,
         clock: Callable[[], datetime]) -> tuple[PbxPort | None, BusLink | None]:
    """The way to the PBX, and with HOTLINE_REDIS_URL the link to the other instances:
    the bridge instance relays its bridge, a web-only instance reaches it remotely."""
    local = LocalPbx(bridge) if bridge else None
    if not s.redis_url:
        return local, None
    channels = Channels.of(s.redis_prefix, s.queue_name, s.site)
    if bridge is not None:
        return local, BridgeRelay(s.redis_url, channels, bridge, clock, s.site)
    remote = RemoteBridge(s.redis_url, channels, bus, clock, s.redis_action_timeout, s.site)
    return remote, remote


def _escalation(s: Settings, db: sessionmaker[Session], policy: SlaPolicy, bus: EventBus, hub: Hub,
                clock: Callable[[], datetime]) -> EscalationJob:
    alarm_to = tuple(a.strip() for a in s.taskforce_mail.split(",") if a.strip())
    config = EscalatorConfig(s.database_url, policy, notices_of(s), alarm_to)
    return EscalationJob(Escalator(db, policy, config.notices, alarm_to), bus, hub, clock, s.escalation_every_seconds,
                         escalation_process.executor(config) if s.writer_process and s.escalation_every_seconds > 0
                         else None)


def build(settings: Settings, clock: Callable[[], datetime] = _utcnow) -> Running:
    _check(settings)
    engine, reads = make_engine(settings.database_url), make_engine(settings.database_url, ping=False)
    db = session_factory(engine)
    policy, notices = _policy(settings), notices_of(settings)
    desk, lookup = TicketDesk(db, policy, notices), CustomerLookup(db, settings.default_region, reads)
    customers = CustomerService(db, settings.default_region)
    users = UserService(db)
    kb = KnowledgeBase(db, clock, reads)
    intake = IntakeService(db, policy, notices, settings.default_region)
    bus, hub = EventBus(), Hub()
    feed = QueueFeed(QueueProjection(threshold=settings.service_level_seconds,
                                     short_abandon=settings.short_abandon_seconds),
                     clock, settings.timezone, settings.queue_name)
    wallboard = WallboardPush(hub, feed.projection, clock, settings.mask_caller_numbers, site=settings.site)
    notifier = PopNotifier(hub, PopEnricher(lookup, desk, customers), clock, partial(ticket_parties, db),
                           settings.site)
    writer = _writer(settings, db, policy, bus, notices)
    bridge = _bridge(settings, bus, clock)
    pbx, bus_link = _pbx(settings, bus, bridge, clock)
    reconciler = (Reconciler(db, Path(settings.queue_log), settings.reconcile_hours, settings.default_region,
                             settings.site)
                  if settings.queue_log and not settings.web_only else None)
    aggregates = (None if settings.web_only else
                  lambda: report_agg_store.catch_up(db, settings_rules(settings), settings.timezone, clock()))
    jobs = Jobs(bus, db, writer, feed, clock, bridge, reconciler,
                0 if settings.web_only else settings.retention_days, aggregates)
    escalation = _escalation(settings, db, policy, bus, hub, clock)

    feed.subscribe(bus)
    jobs.subscribe(bus)
    notifier.subscribe(bus)
    wallboard.watch(feed)
    wallboard.subscribe(bus)
    if bus_link is not None:  # relayed events out, and shared ones (ticket edits) both ways
        bus_link.subscribe(bus)
    if not settings.web_only:  # only the bridge instance's writer writes
        CallRecorder(writer).subscribe(bus)

    services = Services(
        settings=settings, clock=clock, bus=bus, users=users,
        sessions=Sessions.from_settings(settings, db, clock), login=LoginGuard.from_settings(settings),
        customers=customers, lookup=lookup,
        desk=desk, departments=Departments(db), targets=Targets(db), appointments=Appointments(db),
        escalation=escalation, standard_requests=StandardRequests(db, policy, notices),
        kb=kb, kb_links=KbLinks(db, kb, clock), intake=intake, conversation=Conversation(db),
        notice_templates=NoticeTemplates(db),
        request_desk=http_request.RequestDesk.from_settings(settings, intake),
        hub=hub, queue_feed=feed, wallboard=wallboard, notifier=notifier, writer=writer,
        database_ok=lambda: database_ok(engine), close_database=partial(_dispose, engine, reads),
        pbx=pbx, bus_link=bus_link)
    ivr = IvrScripts(db, lookup, settings.timezone, clock, bus.publish, settings.mask_caller_numbers,
                     site=settings.site)
    services.surveys = ivr
    agi = build_agi(settings, lookup, bridge, policy, clock, feed.projection, db, ivr)
    if agi is not None and agi.dispatcher is not None:
        agi.dispatcher.subscribe(bus)
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
