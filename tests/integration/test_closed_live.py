"""Closed hotline (outside service hours) with real Asterisk, SIPp with RFC 2833 keys and
`hotline serve`: a caller with an open ticket is still offered its status before the
goodbye (extensions_ivr.conf [hotline-ivr-closed]); a caller without one hears only the
goodbye. Nobody reaches the queue.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.db_fixture import db_sessions
from tests.pbx_fixture import Event, Pbx, free_tcp_port, verbose_log
from tests.serve_process import serve
from tickets.models import Contact, Organisation, Phone, PhoneKind, Ticket, TicketStatus

pytestmark = pytest.mark.asterisk

KNOWN = "+49 341 7310001"  # Olga Offen: an open ticket
STRANGER = "+49 351 7319999"  # no contact


def _closed_now() -> str:
    """A one-minute window twelve hours away (Berlin time, the default zone): closed now.
    The caller keys 2 from 5 s on: the "closed" sentence (~3 s) is not interruptible."""
    start = datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(hours=12)
    end = start + timedelta(minutes=1)
    return f"{start:%H:%M}-{end:%H:%M}" if end.hour >= start.hour else "03:00-03:01"


@pytest.fixture
def closed_db(database_url: str) -> tuple[str, int]:
    due = (datetime.now(UTC) + timedelta(days=1)).replace(hour=14, minute=30, second=0, microsecond=0)
    with db_sessions(database_url) as sessions, sessions.begin() as s:
        org = Organisation(name="Nachtwerk GmbH", language="de")
        s.add(org)
        s.flush()
        contact = Contact(name="Olga Offen", language="de", organisation_id=org.id)
        s.add(contact)
        s.flush()
        s.add(Phone(raw=KNOWN, normalized=KNOWN.replace(" ", ""), kind=PhoneKind.DIRECT, contact_id=contact.id))
        ticket = Ticket(number="t-closed", subject="Drucker", status=TicketStatus.OPEN, contact_id=contact.id,
                        due_at=due)
        s.add(ticket)
        s.flush()
        ticket.number = f"{due.year}-{ticket.id:06d}"
        return database_url, ticket.id


@pytest.fixture
def steps_log(pbx: Pbx) -> Iterator[Path]:
    """Asterisk's own log of every dialplan step and played file (verbose), for one test."""
    with verbose_log(pbx, "closed") as path:
        yield path


def _call(pbx: Pbx, number: str, dtmf: str) -> tuple[subprocess.Popen[str], Event, int]:
    since = pbx.tap.mark()
    call = pbx.place_call(number, name="Anrufer", duration=25, dtmf=dtmf)  # Asterisk hangs up first
    assert isinstance(call, subprocess.Popen)
    new = pbx.tap.wait_for(lambda e: e["Event"] == "Newchannel" and pbx.tap.events.index(e) >= since
                           and e.get("CallerIDNum") == number)
    pbx.tap.wait_for(lambda e: e["Event"] == "Hangup" and e.get("Uniqueid") == new["Linkedid"], timeout=60)
    call.wait(timeout=30)
    return call, new, since


def _plays(log: Path, channel: str) -> list[str]:
    pattern = re.compile(rf"<{re.escape(channel)}> Playing '([^']+?)(?:\.\w+)?' \(language '\w+'\)")
    return pattern.findall(log.read_text(errors="replace"))


def test_closed_hotline_still_offers_a_caller_their_tickets_status_before_the_goodbye(
        pbx: Pbx, closed_db: tuple[str, int], tmp_path: Path, steps_log: Path) -> None:
    url, ticket_id = closed_db
    log = tmp_path / "serve.log"
    # 0.6 s for the AGI: at load average 20 the first route missed 0.3 s and took the
    # fallback (which knows no hours: open, the queue)
    with serve(pbx, url, free_tcp_port(), secrets.token_urlsafe(24), log, HOTLINE_IVR="true",
               HOTLINE_SERVICE_HOURS=_closed_now(), HOTLINE_AGI_DEADLINE_SECONDS="0.6"):
        _, new, since = _call(pbx, KNOWN, "2@4,2@1,2@1,2@1,2@1")
        linkedid = new["Linkedid"]
        mine = [e for e in pbx.tap.events[since:] if e.get("Linkedid") == linkedid or e.get("Uniqueid") == linkedid]
        played = [e for e in mine if e.get("UserEvent") == "HotlineStatusPlayed"]
        assert [(e["Ticket"], e["State"], e["Playback"]) for e in played] == [(str(ticket_id), "open", "SUCCESS")]
        assert [e for e in mine if e.get("UserEvent") == "HotlineAfterHours"]
        assert not [e for e in mine if e["Event"] == "QueueCallerJoin"]
        names = _plays(steps_log, new["Channel"])
        assert names[:2] == ["hotline/closed", "hotline/status-offer-closed"], names
        assert "hotline/ticket" in names and names[-1] == "ss-noservice", names  # the status, then goodbye
        assert "hotline/continue" not in names  # no agent is offered: nobody is there

        _, new, since = _call(pbx, STRANGER, "2@5")
        mine = [e for e in pbx.tap.events[since:] if e.get("Linkedid") == new["Linkedid"]]
        assert [e for e in mine if e.get("UserEvent") == "HotlineAfterHours"]
        assert not [e for e in mine if e.get("UserEvent") == "HotlineStatusPlayed"]
        assert _plays(steps_log, new["Channel"]) == ["ss-noservice"]  # only the goodbye
    assert f"AGI status for {linkedid} (own" in log.read_text()
