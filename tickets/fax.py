"""A received fax: the report Asterisk writes beside it, and its TIFF turned into a PDF.

Layer: pure (no files, no clock, no database): bytes in, values out. Must not
import agent_console or SQLAlchemy. The dialplan (`[hotline-fax]` in
asterisk-config/extensions.conf) writes `<uniqueid>.tif` with ReceiveFAX and,
when the call ends, `<uniqueid>.fax`: `key=value` lines ending in `end=1`.
Everything in it came from the sending fax machine: it is text, never trusted.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image

MAX_PAGES = 100  # a longer TIFF is cut here (and the ticket says so)
MAX_PIXELS = 2000 * 3600  # an A4 page at 204x392 dpi (the finest fax mode) with room to spare
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_FIELDS = ("id", "status", "pages", "error", "station", "number", "name")


class NotAReport(ValueError):
    """The report is unfinished (no `end=1` yet) or has no id."""


@dataclass(frozen=True, slots=True)
class FaxReport:
    id: str  # Asterisk's Uniqueid of the fax call
    status: str  # FAXSTATUS: SUCCESS, FAILED (or empty: the call ended before the fax began)
    pages: int  # FAXPAGES: pages the receiver counted
    error: str  # FAXERROR
    station: str  # the sender's station id (REMOTESTATIONID)
    number: str  # caller ID number
    name: str  # caller ID name

    @property
    def complete(self) -> bool:
        return self.status.upper() == "SUCCESS"


@dataclass(frozen=True, slots=True)
class FaxDocument:
    pdf: bytes | None  # None: not one page could be read
    pages: int  # pages in the PDF
    problem: str  # why pages are missing, or ""


def parse_report(text: str) -> FaxReport:
    """The report's fields (the first of a key counts; each value cut to 200 characters)."""
    lines = text.splitlines()
    if not lines or lines[-1].strip() != "end=1":
        raise NotAReport("the fax report is not finished")
    values: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key in _FIELDS and key not in values:
            values[key] = _CONTROL.sub(" ", value).strip()[:200]
    if not re.fullmatch(r"[0-9.]{1,40}", values.get("id", "")):
        raise NotAReport("the fax report has no call id")
    pages = values.get("pages", "")
    return FaxReport(id=values["id"], status=values.get("status", ""), pages=int(pages) if pages.isdigit() else 0,
                     error=values.get("error", ""), station=values.get("station", ""),
                     number=values.get("number", ""), name=values.get("name", ""))


def tiff_to_pdf(data: bytes) -> FaxDocument:
    """Every readable page of a fax TIFF as one PDF (1-bit, CCITT G4, at the fax's own
    resolution so an A4 fax is an A4 page). A TIFF cut mid-page (the sender hung up)
    gives the pages before the cut. Pillow's warnings about a damaged file are the
    expected case here (the damage is reported in `problem`), not news for the log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _convert(data)


def _convert(data: bytes) -> FaxDocument:
    if not data:
        return FaxDocument(None, 0, "no image was received")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:  # Pillow raises OSError, TypeError, ValueError, SyntaxError... on a damaged TIFF
        return FaxDocument(None, 0, "the received image could not be read")
    pages: list[Image.Image] = []
    problem = ""
    try:
        for index in range(min(getattr(image, "n_frames", 1), MAX_PAGES + 1)):
            if index == MAX_PAGES:
                problem = f"more than {MAX_PAGES} pages: the rest was left out"
                break
            image.seek(index)
            if image.width * image.height > MAX_PIXELS:
                problem = f"page {index + 1} is larger than a fax page: left out"
                break
            image.load()
            pages.append(image.convert("1").copy())
    except Exception:  # as above: a page cut off mid-way
        problem = f"page {len(pages) + 1} could not be read (cut off)"
    if not pages:
        return FaxDocument(None, 0, problem or "the received image could not be read")
    dpi = _dpi(image)
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], dpi=dpi)
    return FaxDocument(out.getvalue(), len(pages), problem)


def _dpi(image: Image.Image) -> tuple[float, float]:
    raw = image.info.get("dpi") or ()  # TIFF gives IFDRational values
    try:
        x, y = (float(v) for v in raw)
    except (TypeError, ValueError):
        return 204.0, 196.0  # fax "fine" resolution
    return (x, y) if 50 <= x <= 600 and 50 <= y <= 600 else (204.0, 196.0)


def summary(report: FaxReport, document: FaxDocument) -> tuple[str, str]:
    """(subject, text) of the ticket a fax makes, in the desk's language (German, as a
    call's ticket for a caller not known to speak English); a partial fax says so in both."""
    sender = report.number or "unbekannter Nummer"
    partial = not report.complete or document.pdf is None or bool(document.problem)
    subject = f"Fax von {sender}" + (" (unvollständig)" if partial else "")
    lines = [f"Fax von {sender}" + (f" ({report.name})" if report.name else "") + " empfangen.",
             f"Seiten im PDF: {document.pages}."]
    if report.station:
        lines.append(f"Absenderkennung: {report.station}.")
    if partial:
        why = report.error or document.problem or report.status or "the call ended"
        lines.append(f"Das Fax ist unvollständig ({why}). Asterisk hat {report.pages} Seite(n) gezählt; "
                     "bitte den Absender, es noch einmal zu senden.")
        if document.problem and document.problem != why:
            lines.append(f"Bild: {document.problem}.")
    return subject, "\n".join(lines)
