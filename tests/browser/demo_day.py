"""A wallboard with a day behind it, for layout tests and the README's screenshots.

Layer: test support. A real app (`create_app`, AMI off) served by uvicorn in a thread,
whose queue projection has been fed a synthetic help-desk day through its public,
pure API (`apply` with call and agent updates, `sample` every SAMPLE_EVERY seconds),
with a gap in sampling around noon, three callers waiting now (one past the 25-s
promise) and six agents in every state. The server clock is a fixed afternoon that
runs on in real time, so screenshots look the same whenever they are made.

    python -m tests.browser.demo_day docs/screenshots   # writes the README's screenshots
"""

from __future__ import annotations

import contextlib
import random
import re
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callqueue.live import QueueProjection
from callqueue.live import _call as live_call
from callqueue.metrics import FinishedCall
from callqueue.sites import day_figures
from pydantic import SecretStr

from agent_console.app import create_app
from agent_console.scaleout.port import PbxUnavailable
from agent_console.settings import Settings
from agent_console.site_board import Followed, projected
from cti import events as ev
from tests.pbx_fixture import free_tcp_port
from tickets.db import make_engine, session_factory
from tickets.migrate import upgrade
from tickets.models import Role
from tickets.users import UserService

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 14, 25, tzinfo=BERLIN).astimezone(UTC)  # a Tuesday afternoon
OPEN = datetime(2026, 3, 10, 7, 0, tzinfo=BERLIN).astimezone(UTC)
GAP = (datetime(2026, 3, 10, 11, 50, tzinfo=BERLIN).astimezone(UTC),
       datetime(2026, 3, 10, 12, 10, tzinfo=BERLIN).astimezone(UTC))  # no samples: a restart
SAMPLE_EVERY = timedelta(seconds=15)
PASSWORD = "demo-password-1"
AGENTS = [("PJSIP/1001", "anna", "Anna Schmidt", ev.AgentState.ON_CALL, ""),
          ("PJSIP/1002", "bert", "Bert Krüger", ev.AgentState.PAUSED, "lunch"),
          ("PJSIP/1003", "cem", "Cem Aydin", ev.AgentState.AVAILABLE, ""),
          ("PJSIP/1004", "dora", "Dora Weiß", ev.AgentState.WRAP_UP, ""),
          ("PJSIP/1005", "emil", "Emil Novak", ev.AgentState.ON_CALL, ""),
          ("PJSIP/1006", "frieda", "Frieda Lang", ev.AgentState.PAUSED, "backoffice")]
WAITING = [("Stadtwerke Leipzig", "+4934125385588", 38), ("", "+4930901820", 21), ("", None, 6)]


def clock_from(start: datetime) -> Callable[[], datetime]:
    """The server's clock: `start`, running on in real time."""
    t0 = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - t0)


def _call(linkedid: str, entered: datetime, **kw: Any) -> ev.CallSnapshot:
    base = ev.CallSnapshot(
        linkedid=linkedid, caller_raw="", caller_number=None, caller_name="", queue="hotline",
        entered_at=entered, position=1, ringing_agents=(), answered_at=None, agent=None, ended_at=None,
        outcome=None, wait_seconds=None, ring_seconds=None, talk_seconds=None, duration_seconds=None,
        transferred_to=None)
    return replace(base, **kw)


def _day_events(rng: random.Random) -> list[tuple[datetime, ev.CallUpdated]]:
    """The day's calls: busier mid-morning; waits longer when it is busy; a few abandon."""
    out: list[tuple[datetime, ev.CallUpdated]] = []
    t, n = OPEN, 0
    while t < NOW - timedelta(minutes=2):
        hour = t.astimezone(BERLIN).hour
        rate = {8: 1.0, 9: 1.5, 10: 1.3, 11: 0.9, 13: 0.8}.get(hour, 0.5)  # calls a minute
        t += timedelta(seconds=rng.expovariate(rate / 60))
        n += 1
        lid = f"demo.{n}"
        wait = rng.expovariate(1 / (4 + 9 * rate))
        joined = _call(lid, t, caller_number=f"+49341{rng.randrange(10**6, 10**7)}")
        out.append((t, ev.CallUpdated(t, ev.CallChange.JOINED, joined)))
        left = t + timedelta(seconds=wait)
        if rng.random() < 0.03 * rate:  # hung up while waiting
            done = replace(joined, ended_at=left, outcome=ev.Outcome.ABANDONED, wait_seconds=wait)
        else:
            talk = rng.uniform(60, 420)
            done = replace(joined, answered_at=left, agent="PJSIP/1001", ended_at=left + timedelta(seconds=talk),
                           outcome=ev.Outcome.ANSWERED, wait_seconds=wait, talk_seconds=talk)
            out.append((left, ev.CallUpdated(left, ev.CallChange.ANSWERED, done)))
        out.append((done.ended_at or left, ev.CallUpdated(done.ended_at or left, ev.CallChange.ENDED, done)))
    return sorted(out, key=lambda pair: pair[0])


def seed(projection: QueueProjection, now: datetime, seed_value: int = 12) -> None:
    """Feed `projection` the day up to `now` (NOW in the screenshots)."""
    shift = now - NOW
    projection.queues.add("hotline")
    events = [(at + shift, replace(u, at=u.at + shift)) for at, u in _day_events(random.Random(seed_value))]
    tick = OPEN + shift
    for at, update in events:
        while tick <= at:
            if not GAP[0] + shift <= tick < GAP[1] + shift:
                projection.sample(tick)
            tick += SAMPLE_EVERY
        projection.apply(_shifted(update, shift), at)
    for i, (endpoint, name, _display, state, reason) in enumerate(AGENTS):
        since = now - timedelta(seconds=40 + 97 * i)
        projection.apply(ev.AgentUpdated(since, ev.AgentSnapshot(endpoint, name, state, reason, since,
                                                                 ("hotline",), None)), now)
    for i, (name, number, waited) in enumerate(WAITING):
        entered = now - timedelta(seconds=waited)
        caller = _call(f"now.{i}", entered, caller_name=name, caller_number=number,
                       caller_raw=number or "anonymous", position=i + 1)
        projection.apply(ev.CallUpdated(entered, ev.CallChange.JOINED, caller), now)


def _shifted(u: ev.CallUpdated, shift: timedelta) -> ev.CallUpdated:
    c = u.call
    moved = {k: getattr(c, k) + shift for k in ("entered_at", "answered_at", "ended_at") if getattr(c, k)}
    return replace(u, call=replace(c, **moved))


# the sites table (add_sites): per site, callers waiting (seconds), agents (state) and today's calls
OTHER_SITES = {"east": ([52, 17], [ev.AgentState.ON_CALL, ev.AgentState.AVAILABLE, ev.AgentState.ON_CALL], True),
               "west": ([95], [ev.AgentState.ON_CALL, ev.AgentState.PAUSED], False)}  # west: its bridge silent


def _today(rng: random.Random, count: int, mean_wait: float) -> list[FinishedCall]:
    waits = [rng.expovariate(1 / mean_wait) for _ in range(count)]
    return [FinishedCall("abandoned", w, 0.0, False) if rng.random() < 0.06
            else FinishedCall("answered", w, 200.0, True) for w in waits]


def add_sites(app: Any, now: datetime) -> None:
    """Two more sites on the sites' board, as if followed over Redis: `east` up, `west`
    down (its bridge silent for 3 minutes, its last numbers stale); today's calls per
    site as the database would give them. The demo's own site, main, is up."""
    board = app.state.services.site_board
    board.own.status = lambda mono: (True, True, True)
    for site, (waits, states, up) in OTHER_SITES.items():
        projection = QueueProjection()
        projection.queues.add("hotline")
        for i, state in enumerate(states):
            since = now - timedelta(seconds=70 + 45 * i)
            agent = ev.AgentSnapshot(f"PJSIP/2{i}0{len(site)}", f"{site}{i}", state, "", since, ("hotline",), None)
            projection.apply(ev.AgentUpdated(since, agent), now)
        for i, waited in enumerate(waits):  # west's as of its last moment up, 3 minutes ago
            entered = now - timedelta(seconds=waited, minutes=0 if up else 3)
            caller = _call(f"{site}.{i}", entered, caller_number=f"+4989{i}1234", position=i + 1)
            projection.apply(ev.CallUpdated(entered, ev.CallChange.JOINED, caller), now)
        board.add(Followed(site, projected(projection, "hotline"), (lambda mono: (True, True, True)) if up
                           else (lambda mono: (False, True, True))))
    board._last_up["west"] = now - timedelta(minutes=3)
    rng = random.Random(7)
    own = app.state.services.queue_feed.projection  # main's calls: the day the wallboard's tiles count
    today = {"main": [live_call(f) for f in own._finished if own._counts(f)],
             "east": _today(rng, 96, 22), "west": _today(rng, 41, 35)}
    board.today_figures = lambda start: day_figures(today)


def add_users(database_url: str) -> None:
    engine = make_engine(database_url)  # disposed here: on PostgreSQL a pooled connection left to the
    users = UserService(session_factory(engine))  # garbage collector is a ResourceWarning (an error)
    existing = {u.username for u in users.all()}
    for endpoint, name, display, _state, _reason in AGENTS:
        if name not in existing:
            users.add(name, PASSWORD, Role.AGENT, endpoint, display_name=display)
    if "sven" not in existing:
        users.add("sven", PASSWORD, Role.SUPERVISOR, None, display_name="Sven Supervisor")
    engine.dispose()


RATINGS = (5, 4, 5, 3, 4, 5, 4, 2, 5, 4, 4, 5)  # the day's survey answers: mean 4.17


def add_ratings(database_url: str, now: datetime) -> None:
    """The day's answered calls' tickets with their callers' survey answers (CSAT)."""
    from tickets.models import Ticket

    engine = make_engine(database_url)
    with session_factory(engine).begin() as s:
        if not s.query(Ticket).filter(Ticket.number.like("rated-%")).count():
            for i, csat in enumerate(RATINGS):
                at = now - timedelta(minutes=20 * (i + 1))
                s.add(Ticket(number=f"rated-{i}", subject="Anruf", csat=csat, created_at=at, updated_at=at))
    engine.dispose()


@dataclass
class ConnectedPbx:
    """No Asterisk behind the demo: its wallboard shows a connected PBX, as on a normal day
    (the snapshot reads only these two attributes)."""

    connected: bool = True
    registry: None = None

    async def send(self, name: str, fields: dict[str, str]) -> dict[str, str]:
        raise PbxUnavailable(f"the demo has no Asterisk to send {name} to")  # a 503, as with no PBX


@dataclass
class DemoServer:
    url: str
    app: Any
    loop: Any = None  # the server's event loop (to publish on its hub from a test)


@contextlib.contextmanager
def demo_server(database_url: str, now: datetime = NOW, sites: bool = False,
                **settings_extra: Any) -> Iterator[DemoServer]:
    """The seeded app on a free port, until the block ends (`settings_extra`: more Settings;
    `sites`: two more sites on the sites' board, see add_sites)."""
    import uvicorn

    add_users(database_url)
    add_ratings(database_url, now)
    clock = clock_from(now)
    settings = Settings(database_url=database_url, session_secret=SecretStr(secrets.token_urlsafe(24)),
                        ami_enabled=False, writer_process=False, **settings_extra)
    app = create_app(settings, clock=clock)
    seed(app.state.services.queue_feed.projection, clock())
    app.state.services.pbx = ConnectedPbx()
    if sites:
        add_sites(app, clock())
    port = free_tcp_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="demo-wallboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "demo server did not start"
        time.sleep(0.05)
    try:
        yield DemoServer(f"http://127.0.0.1:{port}", app, server.servers[0].get_loop())
    finally:
        server.should_exit = True
        thread.join(timeout=10)


VIEWS = {"tv-1920": ((1920, 1080), True), "laptop-1366": ((1366, 768), False), "tv-1366": ((1366, 768), True)}


@contextlib.contextmanager
def closing(page: Any) -> Iterator[Any]:
    """`page`, and its browser context closed afterwards, whatever the test did."""
    try:
        yield page
    finally:
        page.context.close()


def new_page(browser: Any, lang: str, size: tuple[int, int] = (1366, 900)) -> Any:
    """A page in a browser context of its own: `lang` (the browser's and hotline's), Berlin time, `size`."""
    context = browser.new_context(bypass_csp=True, locale="de-DE" if lang == "de" else "en-GB",
                                  timezone_id="Europe/Berlin", viewport={"width": size[0], "height": size[1]})
    context.add_init_script(f"localStorage.setItem('hotline.lang', '{lang}')")
    return context.new_page()


def log_in(page: Any, user: str) -> None:
    """Through the login form the page shows (every demo user's password is PASSWORD)."""
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def open_as(browser: Any, server: Any, user: str, lang: str, path: str, size: tuple[int, int] = (1366, 900),
            ready: bool = False) -> Any:
    """`user` logged in on `server` (anything with a `url`) and sent on to `path` by the login
    page's ?next=; with `ready`, once the page says it has drawn its data (body[data-ready='1'])."""
    page = new_page(browser, lang, size)
    page.goto(server.url + "/?next=" + path.replace("&", "%26").replace("?", "%3F"))
    log_in(page, user)
    page.wait_for_url(re.compile(re.escape(path.split("?")[0])))
    if ready:
        page.wait_for_selector("body[data-ready='1']")
    return page


def open_wallboard(browser: Any, server: DemoServer, lang: str, size: tuple[int, int], tv: bool) -> Any:
    """A logged-in supervisor's wallboard in `lang`, Berlin time, at `size`."""
    page = new_page(browser, lang, size)
    page.goto(server.url + "/")
    log_in(page, "sven")
    page.wait_for_url("**/wallboard")
    if tv:
        page.goto(server.url + "/wallboard?tv=1")
    page.wait_for_function("document.body.dataset.ws === 'open' && document.querySelector('#chart-box canvas')")
    page.wait_for_function("document.querySelectorAll('#waiting tr.breached').length > 0")
    return page


def shoot_pages(out: Path, serve: Callable[[str], contextlib.AbstractContextManager[DemoServer]],
                shots: Callable[[Any, DemoServer], Iterator[tuple[str, Any]]]) -> list[Path]:
    """Screenshots for the README: `serve` a fresh SQLite database, and for each (name, page)
    `shots` opens, save out/name.png and close the page's context."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS

    out.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        upgrade(url)
        with serve(url) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            for name, page in shots(browser, server):
                path = out / f"{name}.png"
                page.screenshot(path=str(path))
                page.context.close()
                made.append(path)
            browser.close()
    return made


def wallboards(browser: Any, server: DemoServer) -> Iterator[tuple[str, Any]]:
    for name, (size, tv) in VIEWS.items():
        for lang in ("de", "en"):
            yield f"wallboard-{name}-{lang}", open_wallboard(browser, server, lang, size, tv)


def screenshots(out: Path) -> list[Path]:
    return shoot_pages(out, demo_server, wallboards)


if __name__ == "__main__":
    for made_path in screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(made_path)
