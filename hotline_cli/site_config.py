"""What a site's Asterisk adds to asterisk-config/ to be one site of the hotline.

Layer: pure (no I/O). `site_values` fills the per-site @PLACEHOLDER@s: the site's
name, one PJSIP trunk per other site (pjsip.conf, from the `[site-trunk]` template)
and the overflow lines of `[hotline-overflow]` (extensions.conf). One site (no
peers) renders comments only, so a single Asterisk behaves as it always did.

Trunks: each pair of sites shares one password. A site calls a peer as user
`site-<own name>` (`from_user`, found by the peer's `username` identifier, then
challenged with digest auth), so a stray INVITE from loopback or another host
is never taken for a site. The caller's number goes in P-Asserted-Identity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SITE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")  # also what X-Hotline-Call accepts
_HOST = re.compile(r"[A-Za-z0-9.:-]{1,253}")
_SECRET = re.compile(r"[A-Za-z0-9_.~+/=-]{8,128}")  # as asterisk.py: `;` would start a comment
OVERFLOW_RING = 20  # seconds a peer has to take an overflowed call before the next is tried


@dataclass(frozen=True, slots=True)
class SitePeer:
    """Another site this Asterisk overflows to and takes calls from."""

    name: str  # the peer's site name (HOTLINE_SITE there)
    sip_port: int
    secret: str  # the pair's trunk password (the same on both sides)
    host: str = "127.0.0.1"


def check_site_name(name: str) -> str:
    if not SITE_NAME.fullmatch(name):
        raise ValueError(f"a site name is 1-31 of a-z 0-9 - (starting with a letter or digit), not {name!r}")
    return name


def endpoint(site: str) -> str:
    """The PJSIP endpoint (and the SIP user) that stands for `site`."""
    return f"site-{check_site_name(site)}"


def site_values(site: str, peers: Iterable[SitePeer], overflow_after: int) -> dict[str, str]:
    """SITE, OVERFLOW_AFTER, SITE_TRUNKS (pjsip.conf) and OVERFLOW (extensions.conf)."""
    me = endpoint(site)
    peers = tuple(peers)
    names = [check_site_name(p.name) for p in peers]
    if site in names or len(set(names)) != len(names):
        raise ValueError(f"site {site!r}: each peer once, and never the site itself ({', '.join(names)})")
    if not 1 <= overflow_after <= 24:
        raise ValueError(f"overflow after {overflow_after} s would break the 25-second promise (1-24)")
    for p in peers:
        if not _HOST.fullmatch(p.host) or not 0 < p.sip_port < 65536:
            raise ValueError(f"site {p.name}: bad address {p.host}:{p.sip_port}")
        if not _SECRET.fullmatch(p.secret):
            raise ValueError(f"site {p.name}: the trunk password must be 8-128 of A-Z a-z 0-9 _ . ~ + / = -")
    return {
        "SITE": site,
        "OVERFLOW_AFTER": str(overflow_after),
        "SITE_TRUNKS": "\n".join(_trunk(me, p) for p in peers) or "; one site: no trunks to other sites",
        "OVERFLOW": "\n".join(_overflow(peers)) or " same => n,NoOp(one site: no overflow)",
    }


def _trunk(me: str, peer: SitePeer) -> str:
    other = endpoint(peer.name)
    return "\n".join(
        (
            f"[{other}](site-trunk)",
            f"from_user = {me}",
            f"auth = {other}-in",
            f"outbound_auth = {other}-out",
            f"aors = {other}",
            "",
            f"[{other}-in](site-auth)",
            f"username = {other}",
            f"password = {peer.secret}",
            "",
            f"[{other}-out](site-auth)",
            f"username = {me}",
            f"password = {peer.secret}",
            "",
            f"[{other}]",
            "type = aor",
            f"contact = sip:{peer.host}:{peer.sip_port}",
            "",
        )
    )


def _overflow(peers: tuple[SitePeer, ...]) -> list[str]:
    if not peers:
        return []
    lines = [
        ' same => n,GotoIf($["${HOTLINE_ORIGIN}" != ""]?done)',
        ' same => n,GotoIf($["${ARG1}" = "late"]?go)',
        " same => n,Set(HOTLINE_QUEUE_WAIT=${HOTLINE_OVERFLOW_AFTER})",
        " same => n,Set(HOTLINE_OVERFLOW_AT=${HOTLINE_OVERFLOW_AFTER})",
        " same => n,GotoIf($[${QUEUE_MEMBER(hotline,ready)} > 0]?done)",
        " same => n(go),NoOp(no agent ready here: to the other sites)",
    ]
    for p in peers:
        lines.append(
            f" same => n,Dial(PJSIP/5555@{endpoint(p.name)},{OVERFLOW_RING},"
            f"b(hotline-overflow-header^s^1(${{CHANNEL(linkedid)}}))"
            f"U(hotline-overflow-taken^{p.name}))"
        )
    return lines
