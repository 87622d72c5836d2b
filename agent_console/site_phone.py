"""Whose phone this instance rings: an endpoint names a phone at its site's Asterisk.

Layer: edge (pure, but for CodedError). Each site runs its own Asterisk, so site `main`'s
PJSIP/1001 and site `b`'s PJSIP/1001 are two phones of two agents (users are unique by
(site, endpoint)). A web instance follows one site (HOTLINE_SITE): its pops, its agents'
queue actions and its registry are that site's. A user whose phone is at another site
who logs in here has no phone here: `local_endpoint` is None for them, so the hub never
counts them as main's PJSIP/1001 (no pop of another agent's call), `own_endpoint` refuses
their phone actions with 409 `phone_elsewhere` (nothing goes to this site's Asterisk), and
`elsewhere` is the console's notice saying which site this server follows and where
their phone is. Supervisors still see everything (viewing is not bound to a site).
"""

from __future__ import annotations

from agent_console.errors import CodedError
from tickets.users import UserView


def local_endpoint(user: UserView, site: str) -> str | None:
    """The user's endpoint when their phone is at `site` (this instance's), else None."""
    return user.endpoint if user.endpoint and user.site == site else None


def elsewhere(user: UserView, site: str) -> dict[str, str] | None:
    """The notice for a user whose phone is at another site than this instance's: the
    two sites and the phone; None when their phone is here or they have none."""
    if not user.endpoint or user.site == site:
        return None
    return {"server_site": site, "phone_site": user.site, "endpoint": user.endpoint}


def own_endpoint(user: UserView, site: str) -> str:
    """The endpoint the user's phone actions may name on this instance's Asterisk; a 409
    when they have none, or when it is at another site (the same name here is another
    agent's phone)."""
    if not user.endpoint:
        raise CodedError(409, "no_endpoint", "your user has no phone endpoint (hotline users add --endpoint PJSIP/…)")
    if user.site != site:
        raise CodedError(409, "phone_elsewhere",
                         f"your phone {user.endpoint} is at site {user.site!r}; this server follows site {site!r}: "
                         f"log in at site {user.site!r}'s console",
                         extra={"server_site": site, "phone_site": user.site})
    return user.endpoint
