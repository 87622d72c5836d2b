"""`hotline history import queue_log FILE` (issue 18): a queue_log's finished calls become
call records, parsed as the reconcile path parses them; a second run adds nothing; a
call already recorded live is left as it is; the file is read in chunks without losing
calls whose lines fall into two chunks."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from tests.db_fixture import Sessions
from tests.factories import add_contact
from tickets.history_import import import_queue_log
from tickets.models import CallRecord, Ticket

LOG = """\
1795440184|NONE|NONE|NONE|QUEUESTART|
1795440186|1795440186.0|hotline|NONE|ENTERQUEUE||0341 2538-5577|1
1795440188|1795440186.0|hotline|Anna|CONNECT|2|1795440186.1|2
1795440191|1795440186.0|hotline|Anna|COMPLETECALLER|2|3|1
1795440670|1795440669.0|hotline|NONE|ENTERQUEUE||anonymous|1
1795440672|1795440669.0|hotline|NONE|ABANDON|1|1|2
garbage line without fields
1795440700|1795440700.0|hotline|NONE|ENTERQUEUE||+4930111|2
1795440708|1795440700.0|hotline|NONE|EXITWITHTIMEOUT|2|2|8
1795440800|1795440800.0|hotline|NONE|ENTERQUEUE||+4930222|1
1795440803|1795440800.0|hotline|Bert|CONNECT|3|1795440800.1|3
1795440810|1795440800.0|hotline|Bert|BLINDTRANSFER|1003|agents|3|7|1
1795440900|1795440900.0|hotline|NONE|ENTERQUEUE||+4930333|1
"""


def run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOTLINE_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "hotline_cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def records(sessions: Sessions) -> dict[str, CallRecord]:
    with sessions() as s:
        return {r.linkedid: r for r in s.scalars(select(CallRecord))}


def test_cli_imports_queue_log_once(sessions: Sessions, database_url: str, tmp_path: Path) -> None:
    known = add_contact(sessions, "Carla Kern", "+4934125385577")
    log = tmp_path / "queue_log"
    log.write_text(LOG)
    out = run(["history", "import", "queue_log", str(log), "--member", "Anna=PJSIP/1001"], database_url)
    assert out.returncode == 0, out.stderr
    assert "4 finished calls read, 4 added, 0 already recorded" in out.stdout
    got = records(sessions)
    assert set(got) == {"1795440186.0", "1795440669.0", "1795440700.0", "1795440800.0"}  # the last still waits
    answered = got["1795440186.0"]
    assert (answered.outcome, answered.agent, answered.wait_seconds, answered.talk_seconds) == (
        "answered", "PJSIP/1001", 2, 3)
    assert answered.caller_number == "+4934125385577" and answered.contact_id == known
    assert answered.entered_at == datetime.fromtimestamp(1795440186, UTC)
    assert answered.ended_at == datetime.fromtimestamp(1795440191, UTC) and answered.duration_seconds == 5
    assert got["1795440669.0"].outcome == "abandoned" and got["1795440669.0"].caller_number is None
    assert got["1795440700.0"].outcome == "timeout" and got["1795440700.0"].wait_seconds == 8
    assert got["1795440800.0"].outcome == "transferred" and got["1795440800.0"].agent == "Bert"  # not mapped
    with sessions() as s:
        assert s.scalars(select(Ticket)).first() is None  # history makes no tickets
    again = run(["history", "import", "queue_log", str(log)], database_url)
    assert again.returncode == 0 and "4 finished calls read, 0 added, 4 already recorded" in again.stdout
    assert len(records(sessions)) == 4
    bad = run(["history", "import", "queue_log", str(tmp_path / "missing")], database_url)
    assert bad.returncode == 1 and "cannot read" in bad.stderr
    bad = run(["history", "import", "queue_log", str(log), "--member", "nobody"], database_url)
    assert bad.returncode == 2 and "NAME=INTERFACE" in bad.stderr


def test_chunks_and_live_records(sessions: Sessions, tmp_path: Path) -> None:
    with sessions.begin() as s:  # seen live: its record is the bridge's, not overwritten
        s.add(CallRecord(linkedid="1795440700.0", queue="hotline", outcome="timeout", wait_seconds=9.5))
    log = tmp_path / "queue_log"
    log.write_text(LOG)
    counts = import_queue_log(sessions, log, chunk=3)  # every call's lines split over chunks
    assert (counts.read, counts.added, counts.known) == (4, 3, 1)
    got = records(sessions)
    assert len(got) == 4 and got["1795440700.0"].wait_seconds == 9.5
