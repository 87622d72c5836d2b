"""Routing by the caller-ID match with real Asterisk, real SIP and `hotline serve`'s FastAGI.

A contact of a "Werke" organisation reaches only the Werke team's agent (member
penalty band, tickets/routing.py), and the call record says so. With hotline
stopped (the AGI port closed) the same caller still reaches an agent, at most
1 s later than through the AGI (measured on AMI events as they arrive).
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.db_fixture import db_sessions
from tests.pbx_fixture import AmiTap, Event, Pbx, free_tcp_port
from tests.serve_process import serve
from tickets.models import CallRecord, Contact, Organisation, Phone, PhoneKind

pytestmark = pytest.mark.asterisk

WERKE_NUMBER = "+49 341 7100001"  # Werner Werk, contact of Nordwerke (team Werke)
WERKE_PENALTY = 11  # band 10 (first focus team) + 1 (speaks German only)


class TimedTap(AmiTap):
    """An AMI listener that remembers when each event arrived (perf_counter)."""

    def __init__(self, port: int, secret: str) -> None:
        self.times: list[tuple[float, Event]] = []
        self._lock = threading.Lock()
        super().__init__(port, secret)

    def _store(self, chunk: bytes, parsed: list[Event], received: float) -> None:
        with self._lock:
            self.times.extend((received, e) for e in parsed if "Event" in e)
        super()._store(chunk, parsed, received)

    def at(self, pred: Callable[[Event], bool]) -> float:
        self.wait_for(pred)
        with self._lock:
            return next(t for t, e in self.times if pred(e))


@pytest.fixture(scope="module")
def werke_db(module_database_url: str) -> str:
    with db_sessions(module_database_url) as sessions, sessions.begin() as s:
        org = Organisation(name="Nordwerke GmbH", team="Werke", language="de")
        s.add(org)
        s.flush()
        werner = Contact(name="Werner Werk", language="de", organisation_id=org.id)
        s.add(werner)
        s.flush()
        s.add(Phone(raw=WERKE_NUMBER, normalized="+493417100001", kind=PhoneKind.DIRECT, contact_id=werner.id))
    return module_database_url


@contextlib.contextmanager
def werke_member(pbx: Pbx) -> Iterator[None]:
    """Agent 1002 in the Werke band, 1001 a generalist (left at 0: below every band)."""
    out = pbx.cli(f"queue set penalty {WERKE_PENALTY} on PJSIP/1002 in hotline")
    assert "Set penalty" in out or "set" in out.lower(), out
    try:
        yield
    finally:
        pbx.cli("queue set penalty 0 on PJSIP/1002 in hotline")


def _record(url: str, linkedid: str) -> CallRecord | None:
    with db_sessions(url) as sessions, sessions() as s:
        return s.scalars(select(CallRecord).where(CallRecord.linkedid == linkedid)).one_or_none()


def _poll(pred: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def _call(pbx: Pbx, tap: TimedTap, duration: float = 3) -> tuple[str, float, str]:
    """Place a call from the Werke contact; its Linkedid, Newchannel -> AgentCalled (s), who rang first."""
    since = len(tap.times)
    call = pbx.place_call(WERKE_NUMBER, name="Werner Werk", duration=duration)

    def fresh(e: Event) -> bool:
        return tap.events.index(e) >= since

    new = tap.wait_for(lambda e: e["Event"] == "Newchannel" and e.get("CallerIDNum") == WERKE_NUMBER and fresh(e))
    linkedid = new["Linkedid"]
    started = tap.at(lambda e: e is new)
    called_at = tap.at(lambda e: e["Event"] == "AgentCalled" and e.get("Linkedid") == linkedid)
    first = next(e for e in tap.events if e["Event"] == "AgentCalled" and e.get("Linkedid") == linkedid)
    tap.wait_for(lambda e: e["Event"] == "AgentConnect" and e.get("Linkedid") == linkedid)
    tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == linkedid, timeout=30)
    assert isinstance(call, subprocess.Popen)
    call.wait(timeout=30)
    return linkedid, called_at - started, first["Interface"]


def test_werke_caller_reaches_only_the_werke_agent_and_fallback_is_at_most_1s_slower(
        pbx: Pbx, werke_db: str, tmp_path: Path) -> None:
    tap = TimedTap(pbx.ami_port, pbx.ami_secret)
    port, secret, log = free_tcp_port(), secrets.token_urlsafe(24), tmp_path / "serve.log"
    try:
        with werke_member(pbx), pbx.phone("1001", answer_after=0.5), pbx.phone("1002", answer_after=0.5):
            with serve(pbx, werke_db, port, secret, log, HOTLINE_FOCUS_TEAMS="Werke"):
                # twice: rrmemory would ring the other agent next if the band did not hold
                for _ in range(2):
                    linkedid, routed_s, rang = _call(pbx, tap)
                    called = [e["Interface"] for e in tap.events
                              if e["Event"] == "AgentCalled" and e.get("Linkedid") == linkedid]
                    assert rang == "PJSIP/1002" and set(called) == {"PJSIP/1002"}, called
                _poll(lambda: (r := _record(werke_db, linkedid)) is not None and r.outcome is not None)
                record = _record(werke_db, linkedid)
                assert record is not None
                assert (record.route_reason, record.route_team, record.route_language, record.agent) == (
                    "team", "Werke", "de", "PJSIP/1002")
            # hotline stopped: nothing listens on the AGI port any more
            linkedid, fallback_s, rang = _call(pbx, tap)
            assert rang in ("PJSIP/1001", "PJSIP/1002")
    finally:
        tap.close()
    print(f"Newchannel -> AgentCalled: routed {routed_s * 1000:.0f} ms, fallback {fallback_s * 1000:.0f} ms")
    assert fallback_s <= routed_s + 1.0, (routed_s, fallback_s)


def test_hotline_closed_by_its_calendar_closes_the_dialplan(pbx: Pbx, werke_db: str, tmp_path: Path) -> None:
    """The dialplan's own SERVICE_HOURS is "*" (open); only the FastAGI answer (the
    calendar hotline also uses for the SLA clock) closes it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Europe/Berlin"))
    closed_now = "mon-sun 23:00-23:30" if now.hour < 12 else "mon-sun 00:30-01:00"
    port, secret, log = free_tcp_port(), secrets.token_urlsafe(24), tmp_path / "serve.log"
    since = pbx.tap.mark()
    with serve(pbx, werke_db, port, secret, log, HOTLINE_SERVICE_HOURS=closed_now):
        call = pbx.place_call(WERKE_NUMBER, name="Werner Werk", duration=3)
        after = pbx.tap.wait_for(lambda e: e["Event"] == "UserEvent" and e.get("UserEvent") == "HotlineAfterHours"
                                 and pbx.tap.events.index(e) >= since)
        linkedid = after["Linkedid"]
        assert not pbx.tap.of(linkedid, "QueueCallerJoin")
        assert isinstance(call, subprocess.Popen)
        call.wait(timeout=30)
        _poll(lambda: (r := _record(werke_db, linkedid)) is not None and r.outcome is not None)
    record = _record(werke_db, linkedid)
    assert record is not None and record.outcome == "after_hours" and record.route_reason == "closed"
