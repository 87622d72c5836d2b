"""One queue picture across three real sites: three private Asterisks (sites a, b and c,
no trunk between them, so callers stay where they called), one bridge `hotline serve` per
site and a web-only one, all on one database and one real Redis. Callers wait at every
site: the web instance's board (GET /api/sites, what the wallboard shows) has each site's
figures as its own `queue show` says and the total their sum. Site b's bridge killed: b
shown DOWN (a and c unaffected); a call at b during the outage gets its record from b's
queue_log when b's bridge returns. Every wait is on an event or a poll of state, never a
fixed sleep.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select

from tests.console.redis.rig import REDIS_URL
from tests.pbx_fixture import Pbx, free_tcp_port, running_pbx
from tests.serve_process import children, serve
from tickets.db import make_engine, session_factory
from tickets.models import CallRecord, Role
from tickets.users import UserService

pytestmark = pytest.mark.asterisk
PASSWORD = "board-pass-1"


def poll(pred: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(0.2)


@dataclass
class Rig:
    a: Pbx
    b: Pbx
    c: Pbx
    database_url: str
    env: dict[str, str]
    secret: str
    logs: Path
    web: httpx.Client = field(init=False)
    _b_bridge: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _b_proc: subprocess.Popen[str] | None = None

    def bridge(self, pbx: Pbx, site: str) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
        return serve(pbx, self.database_url, free_tcp_port(), self.secret, self.logs / f"bridge-{site}.log",
                     HOTLINE_SITE=site, HOTLINE_QUEUE_LOG=str(pbx.asterisk.queue_log), **self.env)

    def start_b(self) -> None:
        self._b_proc = self._b_bridge.enter_context(self.bridge(self.b, "b"))

    def stop_b(self) -> None:
        self._b_bridge.close()

    def kill_b(self) -> None:
        """SIGKILL b's bridge: no goodbye (no PBX-disconnected event), it just falls silent."""
        assert self._b_proc is not None
        writers = children(self._b_proc.pid)
        self._b_proc.send_signal(signal.SIGKILL)
        self._b_proc.wait(timeout=10)
        self.stop_b()
        poll(lambda: not any(Path(f"/proc/{pid}").exists() for pid in writers), "b's writer process gone", 20)

    def board(self) -> dict[str, Any]:
        r = self.web.get("/api/sites")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def _site(board: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in board["sites"] if r["site"] == name)


@pytest.fixture(scope="module")
def rig(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}); set HOTLINE_TEST_REDIS_URL")
    engine = make_engine(module_database_url)
    UserService(session_factory(engine)).add("sven", PASSWORD, Role.SUPERVISOR, None, display_name="Sven")
    engine.dispose()
    env = {"HOTLINE_REDIS_URL": REDIS_URL, "HOTLINE_REDIS_PREFIX": f"hotline-board-{uuid.uuid4().hex[:8]}"}
    logs = tmp_path_factory.mktemp("board")
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(running_pbx(f"board-a-{os.getpid()}", site="a", queue_max_wait=150))
        b = stack.enter_context(running_pbx(f"board-b-{os.getpid()}", site="b", queue_max_wait=150))
        c = stack.enter_context(running_pbx(f"board-c-{os.getpid()}", site="c", queue_max_wait=150))
        rig = Rig(a, b, c, module_database_url, env, secrets.token_urlsafe(24), logs)
        stack.callback(lambda: [print(f"--- {p.name} ---\n" + p.read_text(errors="replace")[-4000:])
                                for p in sorted(logs.glob("*.log"))])
        stack.enter_context(rig.bridge(a, "a"))
        stack.enter_context(rig.bridge(c, "c"))
        rig.start_b()
        stack.callback(rig.stop_b)
        port = free_tcp_port()
        stack.enter_context(serve(None, module_database_url, port, rig.secret, logs / "web.log",
                                  HOTLINE_SITE="a", **env))
        url = f"http://127.0.0.1:{port}"
        rig.web = stack.enter_context(httpx.Client(base_url=url, headers={"Origin": url}, timeout=10))
        r = rig.web.post("/api/session", json={"username": "sven", "password": PASSWORD})
        assert r.status_code == 200, r.text
        stack.callback(a.end_calls)
        stack.callback(b.end_calls)
        stack.callback(c.end_calls)
        yield rig


@dataclass(frozen=True)
class QueueShow:
    waiting: int
    staffed: int  # logged in, reachable, not paused
    available: int  # of those, not in use
    longest: int  # seconds, the longest caller's wait (0: nobody)


def queue_show(pbx: Pbx) -> QueueShow:
    out = pbx.cli("queue show hotline")
    waiting = int(re.search(r"has (\d+) calls?", out)[1])  # type: ignore[index]
    members = [line for line in out.splitlines() if "(PJSIP/" in line]
    staffed = [m for m in members if "paused" not in m.lower() and not re.search(r"\((Unavailable|Invalid)\)", m)]
    waits = [int(m[1]) * 60 + int(m[2]) for m in re.finditer(r"\(wait: (\d+):(\d\d)", out)]
    return QueueShow(waiting, len(staffed), sum("(Not in use)" in m for m in staffed), max(waits, default=0))


def _figures(row: dict[str, Any]) -> tuple[int, int, int]:
    return row["waiting_count"], row["staffed_agents"], row["available_agents"]


@contextlib.contextmanager
def _paused_phones(pbx: Pbx, *agents: str) -> Iterator[None]:
    """Agents registered and paused: callers may join, nobody answers."""
    with contextlib.ExitStack() as stack:
        for agent in agents:
            stack.enter_context(pbx.phone(agent, answer_after=60.0))
            assert "paused" in pbx.cli(f"queue pause member PJSIP/{agent} queue hotline reason break").lower()
        yield


def _callers(pbx: Pbx, count: int, first: int) -> list[subprocess.Popen[str]]:
    calls = [pbx.place_call(f"+4934125390{first + i:03d}", name="Board Test", duration=100) for i in range(count)]
    assert all(isinstance(c, subprocess.Popen) for c in calls)
    return calls  # type: ignore[return-value]


def _hang_up(calls: list[subprocess.Popen[str]]) -> None:
    for call in calls:
        if call.poll() is None:
            call.kill()
        call.wait()


SITES = ("a", "b", "c")


def test_callers_wait_at_every_site_the_board_sums_them_and_each_site_matches_its_queue_show(rig: Rig) -> None:
    poll(lambda: [r["state"] for r in rig.board()["sites"]] == ["up"] * 3, "all three sites up on the web instance")
    pbx = {"a": rig.a, "b": rig.b, "c": rig.c}
    with _paused_phones(rig.a, "1001", "1002"), _paused_phones(rig.b, "1001"), _paused_phones(rig.c, "1001"):
        calls = _callers(rig.a, 2, 1) + _callers(rig.b, 1, 101) + _callers(rig.c, 1, 151)
        try:
            poll(lambda: tuple(queue_show(pbx[s]).waiting for s in SITES) == (2, 1, 1), "callers queued")
            seen: dict[str, Any] = {}

            def matches() -> bool:
                board, shown = rig.board(), {s: queue_show(pbx[s]) for s in SITES}
                seen.update(board=board, **shown)
                return all(_figures(_site(board, s)) == (q.waiting, q.staffed, q.available) for s, q in shown.items())

            poll(matches, "each site's figures as its queue show says", timeout=30)
            board = seen["board"]
            total = board["total"]
            assert _figures(total) == tuple(sum(column) for column in zip(*(_figures(_site(board, s)) for s in SITES),
                                                                           strict=True))
            assert total["waiting_count"] == 4 and total["missing"] == []
            longest = {s: _site(board, s)["longest_wait_seconds"] for s in SITES}
            assert all(abs(longest[s] - seen[s].longest) <= 2 for s in SITES), (longest, seen)
            assert total["longest_wait_seconds"] == pytest.approx(max(longest.values()), abs=0.01)
        finally:
            _hang_up(calls)
    poll(lambda: rig.board()["total"]["waiting_count"] == 0, "the callers gone from the board")


def _record(rig: Rig, site: str, linkedid: str) -> CallRecord | None:
    engine = make_engine(rig.database_url)
    try:
        with session_factory(engine)() as s:
            return s.scalars(select(CallRecord).where(CallRecord.site == site,
                                                      CallRecord.linkedid == linkedid)).one_or_none()
    finally:
        engine.dispose()


def test_bs_bridge_killed_shows_b_down_a_unaffected_and_bs_calls_are_recorded_from_its_queue_log(rig: Rig) -> None:
    poll(lambda: [r["state"] for r in rig.board()["sites"]] == ["up"] * 3, "all three sites up")
    with _paused_phones(rig.a, "1001"):
        waiting_a = _callers(rig.a, 1, 201)
        try:
            poll(lambda: _site(rig.board(), "a")["waiting_count"] == 1, "a's caller on the board")
            rig.kill_b()  # b's bridge process dies: no more announcements from b
            poll(lambda: _site(rig.board(), "b")["state"] == "down", "b shown as down", timeout=40)
            board = rig.board()
            b_row = _site(board, "b")
            assert (b_row["reason"], b_row["stale"]) == ("bridge_silent", True) and b_row["stale_since"]
            assert board["total"]["missing"] == ["b"]
            a_row = _site(board, "a")
            assert (a_row["state"], a_row["waiting_count"]) == ("up", 1)  # a unaffected
            assert _site(board, "c")["state"] == "up"  # and so is c
            assert board["total"]["waiting_count"] == 1
            # a call at b, answered and ended while b's bridge is down
            mark = rig.b.tap.mark()
            with rig.b.phone("1002", answer_after=1.0):
                poll(lambda: re.search(r"\(PJSIP/1002\).*\(Not in use\)", rig.b.cli("queue show hotline")),
                     "b's agent ready", timeout=20)
                rig.b.place_call("+4934125390301", name="During Outage", duration=3)
                join = rig.b.tap.wait_for(lambda e: e.get("Event") == "QueueCallerJoin", timeout=30, since=mark)
                linkedid = join["Linkedid"]
                rig.b.tap.wait_for(lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == linkedid,
                                   timeout=40, since=mark)
            assert _record(rig, "b", linkedid) is None  # nobody recorded it yet
            answered_before = _site(rig.board(), "b")["today"]["answered"]
            rig.start_b()  # b's bridge returns and reconciles b's queue_log
            poll(lambda: (r := _record(rig, "b", linkedid)) is not None and r.outcome == "answered",
                 "b's call recorded from b's queue_log")
            assert _record(rig, "a", linkedid) is None  # a's site untouched
            poll(lambda: _site(rig.board(), "b")["state"] == "up", "b up again", timeout=40)
            poll(lambda: _site(rig.board(), "b")["today"]["answered"] == answered_before + 1,
                 "b's call in b's figures today", timeout=30)
            assert _site(rig.board(), "a")["state"] == "up" and _site(rig.board(), "a")["waiting_count"] == 1
        finally:
            _hang_up(waiting_a)
