"""Fax in without the modem: the report Asterisk writes (tickets.fax), TIFF -> PDF, and
the spool reader (agent_console/fax_in.py) on a real folder and the test database.
The live fax between two Asterisks is tests/integration/test_fax_live.py."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from agent_console.fax_in import FaxSpool
from tests.db_fixture import Sessions
from tests.factories import add_contact
from tickets.fax import NotAReport, parse_report, summary, tiff_to_pdf
from tickets.intake import IntakeService
from tickets.models import Attachment, Channel, Priority, Ticket
from tickets.sla import SlaPolicy

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REPORT = "id=1796000000.7\nstatus=SUCCESS\npages=2\nerror=OK\nstation=+49 341 71000\nnumber=+4934171000\n" \
         "name=Stadtwerke\nend=1\n"


def tiff(pages: int) -> bytes:
    images = [Image.new("1", (1728, 1143), 1) for _ in range(pages)]
    for n, image in enumerate(images, 1):
        ImageDraw.Draw(image).text((100, 100), f"page {n}", fill=0)
    out = io.BytesIO()
    images[0].save(out, format="TIFF", compression="group4", dpi=(204, 98), save_all=True,
                   append_images=images[1:])
    return out.getvalue()


def test_a_report_is_read_only_once_finished_and_its_first_values_count() -> None:
    with pytest.raises(NotAReport):
        parse_report(REPORT.replace("end=1\n", ""))
    with pytest.raises(NotAReport):
        parse_report("id=../../etc/passwd\nend=1\n")
    # a caller name holding a line break cannot change the fields written before it
    report = parse_report(REPORT.replace("name=Stadtwerke", "name=X\nstatus=SUCCESS\x1b[31m"))
    assert (report.id, report.status, report.pages, report.number) == ("1796000000.7", "SUCCESS", 2, "+4934171000")
    assert parse_report("id=1.2\nstatus=FAILED\npages=x\nend=1").pages == 0


def test_a_fax_tiff_becomes_a_pdf_with_every_page_at_its_own_resolution() -> None:
    document = tiff_to_pdf(tiff(3))
    assert document.pdf is not None and document.pages == 3 and document.problem == ""
    assert document.pdf.startswith(b"%PDF-") and document.pdf.count(b"/Type /Page\n") == 3
    # 1728 dots at 204 dpi are 8.47 in = 609.9 pt wide; 1143 lines at 98 dpi 11.66 in = 839.76 pt
    assert b"/MediaBox [ 0 0 609.88" in document.pdf and b" 839.75" in document.pdf


def test_a_cut_or_broken_tiff_gives_the_pages_before_the_cut_or_none() -> None:
    data = tiff(2)
    cut = tiff_to_pdf(data[: len(data) - 200])  # the last page's directory is gone
    assert cut.pages in (0, 1) and (cut.pages == 1) == (cut.pdf is not None)
    assert tiff_to_pdf(b"").problem == "no image was received"
    broken = tiff_to_pdf(b"II*\x00" + b"\xff" * 100)
    assert broken.pdf is None and broken.problem


def test_the_ticket_text_says_when_a_fax_is_incomplete() -> None:
    report = parse_report(REPORT.replace("SUCCESS", "FAILED").replace("error=OK", "error=The call dropped"))
    subject, text = summary(report, tiff_to_pdf(tiff(1)))
    assert subject == "Fax von +4934171000 (unvollständig)"
    assert "Das Fax ist unvollständig (The call dropped)" in text


def spool(sessions: Sessions, folder: Path) -> FaxSpool:
    return FaxSpool(folder, IntakeService(sessions, SlaPolicy({Priority.NORMAL: 24})), lambda: NOW)


def test_the_spool_makes_one_fax_ticket_per_finished_fax_linked_by_number(sessions: Sessions,
                                                                            tmp_path: Path) -> None:
    contact = add_contact(sessions, "Stadtwerke Nord", "+4934171000")
    (tmp_path / "1796000000.7.tif").write_bytes(tiff(2))
    (tmp_path / "1796000000.7.fax").write_text(REPORT)
    (tmp_path / "1796000000.8.tif").write_bytes(b"")  # a fax still coming in: no report yet
    (tmp_path / "1796000000.8.fax").write_text("id=1796000000.8\nstatus=")
    [stored] = spool(sessions, tmp_path).scan()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1796000000.8.fax", "1796000000.8.tif"]
    with sessions() as s:
        ticket = s.get(Ticket, stored.ticket_id)
        assert ticket is not None and ticket.channel is Channel.FAX and ticket.contact_id == contact
        [pdf] = s.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
        assert pdf.filename == "fax-1796000000.7.pdf" and pdf.content_type == "application/pdf"


def test_a_fax_stored_twice_after_a_crash_makes_one_ticket_and_an_unreadable_one_keeps_its_tiff(
        sessions: Sessions, tmp_path: Path) -> None:
    reader = spool(sessions, tmp_path)
    for _ in range(2):  # the files were not removed the first time (a crash after storing)
        (tmp_path / "1796000000.7.tif").write_bytes(tiff(1))
        (tmp_path / "1796000000.7.fax").write_text(REPORT)
        reader.scan()
    (tmp_path / "1796000000.9.tif").write_bytes(b"II*\x00garbage")
    (tmp_path / "1796000000.9.fax").write_text(REPORT.replace("1796000000.7", "1796000000.9")
                                               .replace("SUCCESS", "FAILED"))
    reader.scan()
    with sessions() as s:
        tickets = s.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert len(tickets) == 2 and tickets[1].subject.endswith("(unvollständig)")
        files = s.scalars(select(Attachment).where(Attachment.ticket_id == tickets[1].id)).all()
        assert [(f.filename, f.content_type) for f in files] == [("fax-1796000000.9.tif", "image/tiff")]


def test_a_fax_that_cannot_be_stored_is_set_aside_and_the_others_still_come_in(sessions: Sessions,
                                                                                tmp_path: Path) -> None:
    (tmp_path / "1796000000.1.tif").mkdir()  # unreadable as a file: this fax fails (not the database)
    (tmp_path / "1796000000.1.fax").write_text(REPORT.replace("1796000000.7", "1796000000.1"))
    (tmp_path / "1796000000.7.tif").write_bytes(tiff(1))
    (tmp_path / "1796000000.7.fax").write_text(REPORT)
    [stored] = spool(sessions, tmp_path).scan()
    assert stored.created and (tmp_path / "1796000000.1.fax.failed").exists()
    assert not (tmp_path / "1796000000.7.fax").exists()
    assert spool(sessions, tmp_path).scan() == []  # not tried again each round
