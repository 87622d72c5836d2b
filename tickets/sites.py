"""Sites: one Asterisk with one bridge instance each, all sharing one database and one Redis.

Layer: domain, pure (no I/O). A call's identity is (site, linkedid): Linkedids of two
Asterisks can collide, so call records, tickets and callback items are unique per site.
The text form is `site:linkedid` (a Linkedid never holds a colon: it is a uniqueid,
`<system name->epoch.seq`). A bare linkedid means "at whichever site has it".
"""

from __future__ import annotations

import re

DEFAULT_SITE = "main"
DEFAULT_PARTNER = "in-house"
SITE = re.compile(r"[a-z0-9-]{1,32}")
PARTNER_MAX = 100


class SiteError(ValueError):
    """A site name or a `site:linkedid` that is not well formed; the message says why."""


def valid_site(name: str) -> str:
    """`name` when it is a site name: 1-32 lowercase letters, digits or '-'."""
    if not SITE.fullmatch(name):
        raise SiteError(f"site {name!r}: 1-32 lowercase letters, digits or '-' (e.g. main, berlin-2)")
    return name


def valid_partner(name: str) -> str:
    """A partner (who staffs the agents: in-house or an external call centre): free text, 1-100 characters."""
    name = name.strip()
    if not name or len(name) > PARTNER_MAX or any(ord(c) < 32 for c in name):
        raise SiteError(f"partner: 1-{PARTNER_MAX} printable characters")
    return name


def parse_call_ref(ref: str) -> tuple[str | None, str]:
    """`site:linkedid` -> (site, linkedid); a bare linkedid -> (None, linkedid)."""
    site, sep, linkedid = ref.partition(":")
    if not sep:
        return None, ref
    if not linkedid:
        raise SiteError(f"{ref!r}: expected site:linkedid")
    return valid_site(site), linkedid


def call_ref(site: str, linkedid: str) -> str:
    return f"{site}:{linkedid}"
