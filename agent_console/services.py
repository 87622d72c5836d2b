"""The objects one running app holds, built by create_app and handed to the routes
(no module-level singletons).

Layer: edge (wiring types only). Routes take them as `services: ServicesDep`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from callqueue.feed import QueueFeed
from fastapi import Depends
from starlette.requests import HTTPConnection

from agent_console.agi_ivr import IvrScripts
from agent_console.hub import Hub
from agent_console.login_guard import LoginGuard
from agent_console.notifier import PopNotifier
from agent_console.session_watch import SessionWatch
from agent_console.sessions import Sessions
from agent_console.settings import Settings
from agent_console.site_board import SiteBoard
from agent_console.wallboard import WallboardPush
from cti.bus import EventBus
from tickets.appointments import Appointments
from tickets.customers import CustomerService
from tickets.departments import Departments, Targets
from tickets.desk import TicketDesk
from tickets.intake import Conversation, IntakeService
from tickets.kb import KnowledgeBase
from tickets.kb_links import KbLinks
from tickets.lookup import CustomerLookup
from tickets.notice_templates import NoticeTemplates
from tickets.standard_requests import StandardRequests
from tickets.users import UserService
from tickets.writer import DbWriter

if TYPE_CHECKING:
    from agent_console.escalation_job import EscalationJob
    from agent_console.gc_quiet import QuietCollector
    from agent_console.http_request import RequestDesk
    from agent_console.scaleout.health import BusLink
    from agent_console.scaleout.port import PbxPort


@dataclass
class Services:
    settings: Settings
    clock: Callable[[], datetime]
    bus: EventBus
    users: UserService
    sessions: Sessions
    session_watch: SessionWatch  # every open WebSocket's session, checked in one round
    login: LoginGuard
    customers: CustomerService
    lookup: CustomerLookup
    desk: TicketDesk
    departments: Departments  # 2nd/3rd-level work queues and their members
    targets: Targets  # resolution targets per (organisation or default) x priority x level
    appointments: Appointments  # on-site visits on level 2/3 tickets
    escalation: EscalationJob  # the timed level 2 -> 3 scan and task-force alarms
    standard_requests: StandardRequests  # templates that fill and close a ticket at first contact
    intake: IntakeService  # mail and form entries -> tickets
    notice_templates: NoticeTemplates  # the callers' mails' texts an admin has changed
    conversation: Conversation  # a ticket's mails, form entries, attachments and callers' mails
    hub: Hub
    queue_feed: QueueFeed  # the live queue projection and what moves it
    wallboard: WallboardPush  # the supervisors' queue views
    notifier: PopNotifier  # pops, withdrawals, ticket and agent messages; the pops now out
    writer: DbWriter
    kb: KnowledgeBase  # knowledge-base articles, versions, search
    kb_links: KbLinks  # "solved with KB" links and suggestions
    database_ok: Callable[[], bool]
    close_database: Callable[[], None]
    request_desk: RequestDesk  # the public request form: token signer, rate limit, intake
    # the way to the PBX: this instance's AMI bridge, or the bridge instance over Redis when web-only
    pbx: PbxPort | None = None
    # HOTLINE_REDIS_URL set: the relay (bridge instance) or the remote (web-only instance)
    bus_link: BusLink | None = None
    # the survey answers (FastAGI `survey`): today's CSAT for the wallboard
    surveys: IvrScripts | None = None
    # every site and the virtual hotline (the wallboard's sites table); None: not built (a test's own Services)
    site_board: SiteBoard | None = None
    # the garbage collector's full passes at a quiet moment (HOTLINE_GC_FULL_EVERY; hotline serve: 60 s)
    gc: QuietCollector | None = None
    # the report aggregates' catch-up where the jobs run it (a process of its own); None: the request's thread
    report_catch_up: Callable[[datetime], int] | None = None


def get_services(conn: HTTPConnection) -> Services:
    """The app's Services (HTTP routes and the WebSocket alike)."""
    services: Services = conn.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
