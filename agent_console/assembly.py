"""The composition root's parts: how agent_console.app builds the pieces that depend on
settings (the SLA policy, the ticket writer in or out of process, the AMI bridge, the
way to the PBX with or without Redis, the sites' board and its followers, the
escalation job) and the start-up checks.

Layer: edge, part of the one composition root: only agent_console.app calls these
(and a test that builds the writer the same way); nothing here is created at import.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from callqueue.feed import QueueFeed
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from agent_console.escalation_job import EscalationJob
from agent_console.http_reports import settings_rules
from agent_console.hub import Hub
from agent_console.mail_out import notices_of
from agent_console.scaleout.codec import SiteLive
from agent_console.scaleout.health import BusLink
from agent_console.scaleout.link import Channels
from agent_console.scaleout.port import LocalPbx, PbxPort
from agent_console.scaleout.relay import BridgeRelay
from agent_console.scaleout.remote import RemoteBridge
from agent_console.settings import Settings
from agent_console.site_board import Followed, Live, SiteBoard, projected
from cti.bridge import AmiBridge
from cti.bus import EventBus
from cti.calls import CallRegistry
from tickets import escalation_process, report_agg_process, report_agg_store, writer_process
from tickets.calls_service import TicketService
from tickets.escalation import Escalator
from tickets.escalation_process import EscalatorConfig
from tickets.models import Priority
from tickets.outbox import NoticeConfig
from tickets.report_agg_process import AggregatesConfig
from tickets.reports import FinishedToday
from tickets.service_calendar import parse_region
from tickets.sla import ServiceHours, SlaPolicy
from tickets.writer import DbWriter
from tickets.writer_process import WriterConfig


class ConfigError(RuntimeError):
    """A setting needed to start is missing or wrong; the message names it."""


def check(s: Settings) -> None:
    if s.session_secret is None or len(s.session_secret.get_secret_value()) < 16:
        raise ConfigError("HOTLINE_SESSION_SECRET is not set (at least 16 characters)")
    if s.ami_enabled and s.ami_secret is None:
        raise ConfigError("HOTLINE_AMI_SECRET is not set (or set HOTLINE_AMI_ENABLED=false)")


def dispose(*engines: Engine) -> None:
    for engine in engines:
        engine.dispose()


def policy_of(s: Settings) -> SlaPolicy:
    hours = {Priority.CRITICAL: s.sla_hours_critical, Priority.HIGH: s.sla_hours_high,
             Priority.NORMAL: s.sla_hours_normal, Priority.LOW: s.sla_hours_low}
    return SlaPolicy(hours, ServiceHours.parse(s.service_hours) if s.service_hours else None, s.timezone,
                     parse_region(s.holidays))


def writer_of(settings: Settings, db: sessionmaker[Session], policy: SlaPolicy, bus: EventBus,
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


def aggregates_of(s: Settings, db: sessionmaker[Session]
                  ) -> tuple[Callable[[datetime], int] | None, concurrent.futures.Executor | None]:
    """The report aggregates' catch-up for the jobs, and where it runs: with
    HOTLINE_WRITER_PROCESS (the default) in a process of its own, else on a thread;
    none on a web-only instance (writes belong to the bridge instance)."""
    if s.web_only:
        return None, None
    rules = settings_rules(s)
    if s.writer_process:
        return report_agg_process.catch_up, report_agg_process.executor(
            AggregatesConfig(s.database_url, rules, s.timezone))
    return partial(report_agg_store.catch_up, db, rules, s.timezone), None


def bridge_of(s: Settings, bus: EventBus, clock: Callable[[], datetime]) -> AmiBridge | None:
    if not s.ami_enabled or s.ami_secret is None:
        return None
    return AmiBridge(host=s.ami_host, port=s.ami_port, username=s.ami_username,
                     secret=s.ami_secret.get_secret_value(), bus=bus,
                     registry=CallRegistry(s.default_region), clock=clock, queue=s.queue_name)


def pbx_of(s: Settings, bus: EventBus, bridge: AmiBridge | None,
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


def escalation_of(s: Settings, db: sessionmaker[Session], policy: SlaPolicy, bus: EventBus, hub: Hub,
                clock: Callable[[], datetime]) -> EscalationJob:
    alarm_to = tuple(a.strip() for a in s.taskforce_mail.split(",") if a.strip())
    config = EscalatorConfig(s.database_url, policy, notices_of(s), alarm_to)
    return EscalationJob(Escalator(db, policy, config.notices, alarm_to), bus, hub, clock, s.escalation_every_seconds,
                         escalation_process.executor(config) if s.writer_process and s.escalation_every_seconds > 0
                         else None)




def _remote_status(remote: RemoteBridge, heard: BusLink, site: str, mono: float) -> tuple[bool, bool, bool]:
    return bool(heard.bridges.running(site, mono)), remote.pbx_up, remote.synced and remote.link.up


def _announced_status(heard: BusLink, site: str, mono: float) -> tuple[bool, bool, bool]:
    """Another site: its bridge heard lately, its PBX up and its figures known, as announced."""
    live = heard.bridges.live(site)
    return (bool(heard.bridges.running(site, mono)), live is not None and live.pbx_connected,
            live is not None and heard.link_up)


def _announced_live(heard: BusLink, site: str, _now: datetime) -> Live:
    live = heard.bridges.live(site)
    if live is None:
        return Live(0, None, 0, 0)
    return Live(live.waiting, live.oldest_entered_at, live.available, live.staffed)


def _site_live(own: Callable[[datetime], Live], connected: Callable[[], bool],
               clock: Callable[[], datetime]) -> SiteLive:
    v = own(clock())
    return SiteLive(connected(), v.waiting, v.oldest_entered_at, v.available, v.staffed)


def board_of(s: Settings, hub: Hub, feed: QueueFeed, bridge: AmiBridge | None, bus_link: BusLink | None,
             db: sessionmaker[Session], clock: Callable[[], datetime]) -> SiteBoard:
    """The sites' board: this instance's own site from the wallboard's projection, and
    with Redis every other site as its bridge announces it on the peers channel (which
    this instance's bridge relay, if it is one, does for its own site)."""
    own_live = projected(feed.projection, s.queue_name)
    if isinstance(bus_link, BridgeRelay) and bridge is not None:
        bus_link.live = partial(_site_live, own_live, lambda: bridge.connected, clock)
    def own_status(mono: float) -> tuple[bool, bool, bool]:
        if bridge is not None:  # this instance is the site's bridge
            return True, bridge.connected, True
        if isinstance(bus_link, RemoteBridge):
            return _remote_status(bus_link, bus_link, s.site, mono)
        return False, False, False  # web-only without Redis: no way to the PBX

    def follow(site: str) -> Followed:
        assert bus_link is not None
        return Followed(site, partial(_announced_live, bus_link, site), partial(_announced_status, bus_link, site))

    def heard(mono: float) -> list[str]:
        return [] if bus_link is None else list(bus_link.bridges.sites(mono))

    own = Followed(s.site, own_live, own_status)
    today = FinishedToday(db, lambda: clock() + timedelta(minutes=1), s.queue_name, s.service_level_seconds,
                          s.short_abandon_seconds)
    return SiteBoard(hub, clock, own, today,
                     feed.today_starts, s.service_level_seconds, s.short_abandon_seconds,
                     heard if bus_link is not None else None, follow if bus_link is not None else None)
