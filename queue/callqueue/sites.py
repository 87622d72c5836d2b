"""One queue picture across sites: each site's live figures and today's, and the virtual hotline's.

Layer: domain, pure (no I/O, no clock: the caller passes what it knows and when). Each
site's bridge feeds that site's live numbers (callers waiting, agents); today's
finished calls per site come from the database. `board()` folds them into one row per
site plus the total ("the virtual hotline"):

- a site is DOWN when its bridge has not announced itself lately (`bridge_up` false),
  when its bridge says the PBX is disconnected, or while its live state has not come
  (`synced` false); its live numbers are then the last known ones, marked `stale`, and
  they are left out of the live totals, which name the site in `missing` instead (a
  down site is never silently zero, never silently dropped);
- the totals: waiting callers and agents summed over the sites that are up, the
  longest wait the oldest caller of any of them (a max, not a sum); today's SL, ASA and
  abandon rate computed over every site's finished calls together (the database holds
  them whatever a bridge's state), never an average of the sites' percentages.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from callqueue.metrics import FinishedCall, QueueFigures, Tally, figures, tally


class SiteState(enum.StrEnum):
    UP = "up"
    DOWN = "down"


class DownReason(enum.StrEnum):
    BRIDGE_SILENT = "bridge_silent"  # no announcement from the site's bridge lately
    PBX_DISCONNECTED = "pbx_disconnected"  # its bridge runs but has no AMI connection
    NOT_SYNCED = "not_synced"  # its bridge runs, its live state has not arrived yet


@dataclass(frozen=True, slots=True)
class SiteInput:
    """What one site's follower knows now."""

    site: str
    bridge_up: bool
    pbx_connected: bool
    synced: bool
    waiting: int
    oldest_entered_at: datetime | None  # the longest-waiting caller's queue entry
    available: int
    staffed: int
    live_at: datetime | None  # when these live numbers were last current (None: never)


@dataclass(frozen=True, slots=True)
class SiteRow:
    site: str
    state: SiteState
    reason: DownReason | None
    stale: bool  # the live numbers are the last known ones, not current
    waiting: int
    oldest_entered_at: datetime | None
    available: int
    staffed: int
    live_at: datetime | None
    today: QueueFigures


@dataclass(frozen=True, slots=True)
class Totals:
    """The virtual hotline: live numbers of the sites that are up, today's of every site."""

    waiting: int
    oldest_entered_at: datetime | None
    available: int
    staffed: int
    today: QueueFigures
    missing: tuple[str, ...]  # sites down: their live numbers are not in these totals


@dataclass(frozen=True, slots=True)
class Board:
    total: Totals
    sites: tuple[SiteRow, ...]  # sorted by site name


def state_of(s: SiteInput) -> tuple[SiteState, DownReason | None]:
    if not s.bridge_up:
        return SiteState.DOWN, DownReason.BRIDGE_SILENT
    if not s.pbx_connected:
        return SiteState.DOWN, DownReason.PBX_DISCONNECTED
    if not s.synced:
        return SiteState.DOWN, DownReason.NOT_SYNCED
    return SiteState.UP, None


def _oldest(times: Iterable[datetime | None]) -> datetime | None:
    return min((t for t in times if t is not None), default=None)


@dataclass(frozen=True, slots=True)
class DayFigures:
    """Today's figures per site and of every site's calls together."""

    sites: Mapping[str, QueueFigures]
    total: QueueFigures


def day_figures(today: Mapping[str, Sequence[FinishedCall]], threshold: int = 25,
                short_abandon: int = 5) -> DayFigures:
    """Today's finished calls (per site) as figures: counted once per read of the day,
    not for every recomputation of the board (a day has 15,000 calls, the board is
    recomputed every half second)."""
    return day_tallies({name: tally(calls, threshold, short_abandon) for name, calls in today.items()},
                       threshold, short_abandon)


def day_tallies(today: Mapping[str, Tally], threshold: int = 25, short_abandon: int = 5) -> DayFigures:
    """Today's figures from each site's tally of its calls: the total merges the sites'
    tallies instead of counting every call a second time."""
    total = Tally(threshold, short_abandon)
    sites = {}
    for name in sorted(today):
        total.merge(today[name])
        sites[name] = today[name].figures()
    return DayFigures(sites, total.figures())


def board(inputs: Iterable[SiteInput], today: DayFigures, threshold: int = 25, short_abandon: int = 5) -> Board:
    """Fold every site's live input and today's figures (per site) into one board.
    A site with finished calls today but no follower (never heard) still gets a row, DOWN."""
    by_site = {s.site: s for s in inputs}
    none = figures((), threshold, short_abandon)
    for name in today.sites:
        by_site.setdefault(name, SiteInput(name, False, False, False, 0, None, 0, 0, None))
    rows = []
    for name in sorted(by_site):
        s = by_site[name]
        state, reason = state_of(s)
        rows.append(SiteRow(name, state, reason, state is SiteState.DOWN, s.waiting, s.oldest_entered_at,
                            s.available, s.staffed, s.live_at,
                            today.sites.get(name, none)))
    up = [r for r in rows if r.state is SiteState.UP]
    total = Totals(sum(r.waiting for r in up), _oldest(r.oldest_entered_at for r in up),
                   sum(r.available for r in up), sum(r.staffed for r in up),
                   today.total,
                   tuple(r.site for r in rows if r.state is SiteState.DOWN))
    return Board(total, tuple(rows))
