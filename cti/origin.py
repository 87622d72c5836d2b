"""Where an overflowed call came from: the `HOTLINE_ORIGIN` channel variable.

Layer: domain, pure. A site that sends a call to another site's queue puts
`X-Hotline-Call: <site>:<linkedid>` on the INVITE; the receiving dialplan keeps a
well-formed value as HOTLINE_ORIGIN, and manager.conf `channelvars` puts it on
every AMI event of that call's channels as `ChanVariable: HOTLINE_ORIGIN=<value>`
(`DestChanVariable: ...` for the second channel of an event). The value is
caller-influenced: anything but the exact shape is None, never an exception.
Must not import from the rest of the project.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

VARIABLE = "HOTLINE_ORIGIN"
# site as HOTLINE_SITE (a-z 0-9 -), Linkedid as Asterisk makes it: epoch seconds "." sequence
_SITE = r"[a-z0-9][a-z0-9-]{0,30}"
_ORIGIN = re.compile(rf"({_SITE}):([0-9]{{1,20}}\.[0-9]{{1,12}})")
SITE = re.compile(_SITE)

Origin = tuple[str, str]  # (site, linkedid at that site)


def parse_origin(value: str) -> Origin | None:
    """'a:1733050000.17' -> ('a', '1733050000.17'); anything else (CR/LF, spaces,
    upper case, a missing part, too long) -> None."""
    match = _ORIGIN.fullmatch(value)
    return (match[1], match[2]) if match else None


def origin_from_chanvars(values: Iterable[str]) -> Origin | None:
    """From the values of an event's ChanVariable fields (`NAME=value` each)."""
    for item in values:
        name, sep, value = item.partition("=")
        if sep and name == VARIABLE:
            return parse_origin(value)
    return None


@dataclass(frozen=True, slots=True)
class CallOverflowed:
    """The sending side: another site took this call (the dialplan's HotlineOverflow
    UserEvent, raised when that site answered); it goes on there, with this call's
    identity as its origin. This site's leg stays up, carrying the media, to the end."""

    at: datetime
    linkedid: str
    site: str  # the site that took it
    queue: str = ""
    caller_raw: str = ""  # CallerIDNum of the caller's channel here (the call may not have queued here)
    caller_name: str = ""
