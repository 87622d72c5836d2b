"""What a scale-out link says about itself: one typed health value for every side.

Layer: edge types, pure (no I/O, no clock). Imports nothing of the project but types:
cti.bus for a type. /healthz and /metrics read only this (never the concrete
relay or remote class), so a new kind of link needs no change in the routes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agent_console.scaleout.codec import SiteLive
    from agent_console.scaleout.sites import SiteBridges
    from cti.bus import EventBus


class LinkStatus(enum.StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class BusHealth:
    """One bus link's health, whichever side it is: what /healthz and /metrics show.
    `problems` are reasons the instance is degraded although the link is up (each
    one an operator can act on); `details` is /healthz's `bus` object."""

    status: LinkStatus
    problems: tuple[str, ...]
    details: Mapping[str, object]
    duplicate_bridges: tuple[str, ...] = ()  # other bridge instances heard on our channels now
    duplicate_detections: int = 0  # times another bridge instance was first heard

    @property
    def up(self) -> bool:
        return self.status is LinkStatus.CONNECTED

    @classmethod
    def in_process(cls) -> BusHealth:
        """No Redis configured: the bus is this process's own and always up."""
        return cls(LinkStatus.CONNECTED, (), {"kind": "in-process", "status": LinkStatus.CONNECTED.value})


class BusLink(Protocol):
    """What the composition root and the routes use of a scale-out link (relay or remote)."""

    bridges: SiteBridges[SiteLive]  # every site's bridge instances heard on the peers channel (the sites' board)

    def subscribe(self, bus: EventBus) -> None: ...

    def start(self) -> None: ...

    async def close(self) -> None: ...

    def health(self) -> BusHealth: ...

    @property
    def link_up(self) -> bool: ...  # the Redis link now (cheap: the sites board asks twice a second per site)
