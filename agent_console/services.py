"""The objects one running app holds, built by create_app and passed to routes
through `app.state.services` (no module-level singletons).

Layer: edge (wiring types only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from callqueue.live import QueueProjection

from agent_console.hub import Hub
from agent_console.login_guard import LoginGuard
from agent_console.notifier import Notifier
from agent_console.sessions import Sessions
from agent_console.settings import Settings
from cti.bridge import AmiBridge
from cti.bus import EventBus
from tickets.customers import CustomerService
from tickets.desk import TicketDesk
from tickets.lookup import CustomerLookup
from tickets.users import UserService
from tickets.writer import DbWriter

if TYPE_CHECKING:
    from agent_console.pbx_port import PbxPort
    from agent_console.redis_relay import BridgeRelay
    from agent_console.redis_remote import RemoteBridge


@dataclass
class Services:
    settings: Settings
    clock: Callable[[], datetime]
    bus: EventBus
    users: UserService
    sessions: Sessions
    login: LoginGuard
    customers: CustomerService
    lookup: CustomerLookup
    desk: TicketDesk
    projection: QueueProjection
    hub: Hub
    notifier: Notifier
    writer: DbWriter
    bridge: AmiBridge | None
    database_ok: Callable[[], bool]
    close_database: Callable[[], None]
    extra: dict[str, Any] = field(default_factory=dict)
    # the way to the PBX: `bridge` here, or the bridge instance over Redis when web-only
    pbx: PbxPort | None = None
    # HOTLINE_REDIS_URL set: the relay (bridge instance) or the remote (web-only instance)
    bus_link: BridgeRelay | RemoteBridge | None = None
