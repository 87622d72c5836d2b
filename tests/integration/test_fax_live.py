"""Fax with real Asterisk on both ends: a second private Asterisk in the same root
sends a real fax (SendFAX of a TIFF, G.711 over SIP on loopback) to the desk's fax
number; the desk's Asterisk receives it (ReceiveFAX, res_fax_spandsp) into its fax
spool and `hotline serve` (HOTLINE_FAX_SPOOL) makes a `fax` ticket with the PDF,
linked to the contact whose number sent it. A sender that hangs up mid-page
makes a ticket that says the fax is incomplete, with the pages that came."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from tests.db_fixture import db_sessions
from tests.factories import add_contact
from tests.pbx_fixture import Pbx, free_tcp_port, running_pbx
from tests.serve_process import serve
from tests.waiting import wait_until
from tickets.models import Attachment, Channel, Ticket, TicketMessage

pytestmark = pytest.mark.asterisk
FAX_WAIT = 90.0  # a fax of a few pages over the SIP trunk takes its time

SENDER = "+4934171000"  # the contact's direct number: the fax machine's caller ID


@pytest.fixture(scope="module")
def fax_sender(pbx: Pbx) -> Iterator[Pbx]:
    """The second Asterisk: its trunk points at the desk's Asterisk."""
    with running_pbx(f"faxsender-{os.getpid()}", trunk_peer_port=pbx.sip_port) as sender:
        yield sender


def write_tiff(path: Path, pages: int) -> None:
    """A fax document: A4 at fax standard resolution, 1 bit, CCITT G4, one line of text a page."""
    images = [Image.new("1", (1728, 1143), 1) for _ in range(pages)]
    for n, image in enumerate(images, 1):
        draw = ImageDraw.Draw(image)
        draw.text((150, 150), f"Stoerung Drucker Rathaus - Seite {n}", fill=0)
        draw.rectangle((150, 300, 1500, 900), outline=0, width=6)
    images[0].save(path, compression="group4", dpi=(204, 98), save_all=True, append_images=images[1:])


def send_fax(sender: Pbx, pages: int, name: str) -> Path:
    path = sender.asterisk.outer / "spool" / f"{name}.tif"
    write_tiff(path, pages)
    inner = sender.asterisk.inner / "spool" / path.name
    sender.tap.action("Originate", ActionID=name, Channel="PJSIP/5556@trunk", Application="SendFAX",
                      Data=str(inner), CallerID=f'"Stadtwerke Nord" <{SENDER}>', Async="true")
    return path


def fax_tickets(url: str, after: int = 0) -> list[tuple[Ticket, list[Attachment], TicketMessage]]:
    """The fax tickets with an id above `after` (those of this test), with their files and message."""
    with db_sessions(url) as db, db() as s:
        tickets = s.scalars(select(Ticket).where(Ticket.channel == Channel.FAX, Ticket.id > after)
                            .order_by(Ticket.id)).all()
        return [(t, list(s.scalars(select(Attachment).where(Attachment.ticket_id == t.id))),
                 s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == t.id)).one()) for t in tickets]


def last_ticket(url: str) -> int:
    with db_sessions(url) as db, db() as s:
        return max(s.scalars(select(Ticket.id)).all(), default=0)


def pdf_pages(data: bytes) -> int:
    assert data.startswith(b"%PDF-")
    return data.count(b"/Type /Page\n")


@pytest.fixture(scope="module")
def desk(pbx: Pbx, module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`hotline serve` reading the desk Asterisk's fax spool, with the sender as a contact."""
    with db_sessions(module_database_url) as db:
        add_contact(db, "Stadtwerke Nord, Poststelle", SENDER)
    log = tmp_path_factory.mktemp("fax") / "serve.log"
    env = {"HOTLINE_FAX_SPOOL": str(pbx.asterisk.fax_spool), "HOTLINE_FAX_POLL_SECONDS": "0.2"}
    with serve(pbx, module_database_url, free_tcp_port(), secrets.token_urlsafe(24), log, **env):
        yield module_database_url


def test_a_fax_from_a_second_asterisk_becomes_a_fax_ticket_with_its_pdf(desk: str, fax_sender: Pbx) -> None:
    before = last_ticket(desk)
    send_fax(fax_sender, pages=2, name="complete")
    wait_until(lambda: fax_tickets(desk, before), FAX_WAIT, 0.2)
    [(ticket, files, message)] = fax_tickets(desk, before)
    assert ticket.channel is Channel.FAX and ticket.contact_id is not None
    assert ticket.subject == f"Fax von {SENDER}"
    assert message.sender == SENDER and message.sender_name == "Stadtwerke Nord"
    [pdf] = files
    assert pdf.content_type == "application/pdf" and pdf_pages(pdf.data) == 2
    assert "unvollständig" not in ticket.description


def test_a_fax_cut_off_mid_page_makes_a_ticket_noting_the_partial_fax(
        pbx: Pbx, desk: str, fax_sender: Pbx) -> None:
    before = last_ticket(desk)
    send_fax(fax_sender, pages=3, name="cut")

    def first_page_in() -> bool:  # the receiver's TIFF holds a finished page: page 2 is on the line
        for tiff in pbx.asterisk.fax_spool.glob("*.tif"):
            try:
                return bool(Image.open(io.BytesIO(tiff.read_bytes())).n_frames >= 1)
            except Exception:
                return False
        return False

    wait_until(first_page_in, FAX_WAIT, 0.2)
    fax_sender.tap.action("Hangup", Channel="/^PJSIP\\/trunk-/")
    wait_until(lambda: fax_tickets(desk, before), FAX_WAIT, 0.2)
    [(ticket, files, _message)] = fax_tickets(desk, before)
    assert ticket.subject == f"Fax von {SENDER} (unvollständig)"
    assert "Das Fax ist unvollständig" in ticket.description
    [pdf] = files
    assert 1 <= pdf_pages(pdf.data) < 3
