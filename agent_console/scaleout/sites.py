"""Which sites' bridge instances are heard on the shared peers channel, and when last.

Layer: edge, pure (no I/O; the caller passes a monotonic `now`). Every bridge
instance announces itself with its site every few seconds (codec.BridgeAnnouncement);
the relay and the web-only remote both keep one of these, so /healthz lists each
site's bridge as up or down, and a bridge sees another one of its own site (a
configuration error: both would run every forwarded action) apart from the
bridges of other sites (normal: one per site on one Redis).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

ANNOUNCE_EVERY = 5.0  # seconds between a bridge instance's announcements
LIVE_EVERY = 1.0  # seconds between looks at the site's live figures (announced when they changed)
ALIVE_FOR = 3 * ANNOUNCE_EVERY  # a bridge instance counts as running this long after its last one


L = TypeVar("L")


@dataclass
class SiteBridges(Generic[L]):
    alive_for: float  # an instance counts as running this long after its last announcement
    _heard: dict[str, tuple[str, float]] = field(default_factory=dict)  # origin -> (site, last heard)
    _live: dict[str, L] = field(default_factory=dict)  # site -> its last announced live figures

    def heard(self, origin: str, site: str, now: float, live: L | None = None) -> bool:
        """Note an announcement (and the site's live figures it carries); True when the
        instance is new (or was silent too long)."""
        last = self._heard.get(origin)
        self._heard[origin] = (site, now)
        if live is not None:
            self._live[site] = live
        return last is None or last[0] != site or now - last[1] > self.alive_for

    def announced(self, origin: str, site: str, now: float, live: L | None, leaving: bool) -> bool:
        """Note an announcement, or a leaving one; True when a running instance is new."""
        if leaving:
            self.left(origin, site, live)
            return False
        return self.heard(origin, site, now, live)

    def left(self, origin: str, site: str, live: L | None = None) -> None:
        """The instance said it stops: not running any more; its site keeps its last figures."""
        self._heard[origin] = (site, float("-inf"))  # listed still, as down
        if live is not None:
            self._live[site] = live

    def live(self, site: str) -> L | None:
        """The site's figures as its bridge last announced them (None: none heard)."""
        return self._live.get(site)

    def running(self, site: str, now: float, but: str = "") -> list[str]:
        """The instances of `site` heard lately (other than `but`), sorted."""
        return sorted(o for o, (s, at) in self._heard.items()
                      if s == site and o != but and now - at <= self.alive_for)

    def sites(self, now: float) -> dict[str, dict[str, object]]:
        """Every site ever heard: `{"up": any instance heard lately, "bridges": [those]}`."""
        names = sorted({s for s, _ in self._heard.values()})
        return {name: {"up": bool(self.running(name, now)), "bridges": self.running(name, now)} for name in names}
