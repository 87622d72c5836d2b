"""Fax in: the fax spool Asterisk writes into becomes tickets (channel `fax`).

Layer: I/O shell (files, a polling task). The report and the PDF are
tickets.fax (pure), storing is tickets.intake; both run on a worker thread.

Asterisk's dialplan (`[hotline-fax]`) receives a fax into `<uniqueid>.tif` and,
when the call ends, writes `<uniqueid>.fax` (its last line `end=1`). Each round
this reads the finished reports, makes one ticket per fax (the PDF attached; a
fax that broke off mid-page makes a ticket that says so, with the pages that
came), and only then removes the two files. A fax that arrives while hotline is
down waits in the spool; one stored twice (a crash between storing and removing)
is stored once: its id is the ticket message's Message-ID (`fax:<uniqueid>`).
A fax whose image cannot be read at all keeps its TIFF on the ticket.
The spool is read on the bridge instance only (one writer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from agent_console.settings import Settings
from cti.tasks import TaskSet
from tickets.fax import FaxDocument, FaxReport, NotAReport, parse_report, summary, tiff_to_pdf
from tickets.intake import Entry, IntakeService, Stored
from tickets.mail_parse import AttachmentIn
from tickets.models import Channel

log = logging.getLogger(__name__)
MAX_TIFF_BYTES = 50 * 1024 * 1024  # a 100-page fine fax is ~5 MB; a larger file is not a fax


def fax_entry(report: FaxReport, document: FaxDocument, tiff: bytes) -> Entry:
    subject, text = summary(report, document)
    files: tuple[AttachmentIn, ...]
    if document.pdf is not None:
        files = (AttachmentIn(f"fax-{report.id}.pdf", "application/pdf", document.pdf),)
    elif tiff:  # not one page readable: keep what came, as it came
        files = (AttachmentIn(f"fax-{report.id}.tif", "image/tiff", tiff),)
    else:
        files = ()
    return Entry(Channel.FAX, sender=report.number or "unknown", sender_name=report.name or report.station,
                 subject=subject, text=text, message_id=f"fax:{report.id}", attachments=files,
                 phone=report.number)


class FaxSpool:
    def __init__(self, folder: Path, intake: IntakeService, clock: Callable[[], datetime],
                 poll_seconds: float = 1.0) -> None:
        self.folder, self.intake, self.clock, self.poll_seconds = folder, intake, clock, poll_seconds
        self._tasks = TaskSet()
        self.stored = 0  # faxes made into tickets since start

    def scan(self) -> list[Stored]:
        """Store every finished fax in the spool (sync: run it on a thread). A database
        error ends the round (the faxes wait); a fax that fails otherwise is set aside
        as `<id>.fax.failed` (logged) so that it does not hold up the others."""
        out = []
        for path in sorted(self.folder.glob("*.fax")):
            try:
                stored = self._one(path)
            except SQLAlchemyError:
                raise
            except Exception:
                log.exception("fax %s could not be stored; set aside as %s.failed", path, path.name)
                path.rename(path.with_name(path.name + ".failed"))
                continue
            if stored is not None:
                self.stored += 1
                out.append(stored)
        return out

    def _one(self, path: Path) -> Stored | None:
        try:
            report = parse_report(path.read_text("utf-8", "replace"))
        except NotAReport:
            return None  # Asterisk is still writing it
        tiff_path = path.with_suffix(".tif")
        tiff = _read(tiff_path)
        stored = self.intake.store(fax_entry(report, tiff_to_pdf(tiff), tiff), self.clock())
        log.info("fax %s from %r: ticket %s", report.id, report.number, stored.ticket_number)
        tiff_path.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        return stored

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.scan)
            except SQLAlchemyError:
                log.exception("fax spool: database error; the faxes wait for the next round")
            except Exception:
                log.exception("fax spool: round failed")
            await asyncio.sleep(self.poll_seconds)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._tasks.spawn(self.run(), "fax-spool")
        log.info("fax spool: reading %s", self.folder)

    async def close(self) -> None:
        await self._tasks.stop()


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(MAX_TIFF_BYTES + 1)[:MAX_TIFF_BYTES]
    except FileNotFoundError:
        return b""


def spool_of(s: Settings, intake: IntakeService, clock: Callable[[], datetime]) -> FaxSpool | None:
    """The fax spool reader, on the bridge instance only and only with HOTLINE_FAX_SPOOL."""
    if not s.fax_spool or s.web_only:
        return None
    return FaxSpool(Path(s.fax_spool), intake, clock, s.fax_poll_seconds)
