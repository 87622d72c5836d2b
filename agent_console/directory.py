"""The transfer directory (agents, queues, whether external numbers are reachable) and
the check of a transfer target against it, before anything reaches Asterisk.

Layer: domain (pure: the users, agent snapshots and allow-list come in as values).
A target is a known agent (username, endpoint `PJSIP/1002` or extension `1002`), the
queue (its name or the number that enters it), or an external number (starting 0 or
+) that HOTLINE_DIAL_ALLOW reaches. Anything else is refused with a code the console
translates: `transfer_target_unknown`, `transfer_target_not_allowed`, `transfer_to_self`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent_console.errors import CodedError
from cti.actions import dial_number
from cti.dial_allow import DialAllowList
from cti.events import AgentSnapshot
from tickets.users import UserView

# asterisk-config/extensions.conf: [hotline-5555] answers 5555 and puts the caller into the queue
QUEUE_EXTENSION = "5555"


def directory(users: Iterable[UserView], agents: Iterable[AgentSnapshot], queue_name: str,
              allow: DialAllowList) -> dict[str, Any]:
    """`{"agents": [{username, display_name, endpoint, site, partner, state}],
    "queues": [{name, label}], "external_allowed"}`; an agent's state is the agent board's, else "unknown"."""
    states = {a.agent: a.state.value for a in agents}
    return {
        "agents": [{"username": u.username, "display_name": u.display_name, "endpoint": u.endpoint,
                    "site": u.site, "partner": u.partner, "state": states.get(u.endpoint or "", "unknown")}
                   for u in users if u.endpoint],
        "queues": [{"name": queue_name, "label": f"{queue_name} ({QUEUE_EXTENSION})"}],
        "external_allowed": allow.reaches_external()}


def _unknown(target: str) -> CodedError:
    return CodedError(422, "transfer_target_unknown",
                      f"{target!r} is no agent, queue or external number of this hotline")


def transfer_extension(target: str, own_endpoint: str | None, users: Iterable[UserView], queue_name: str,
                       allow: DialAllowList) -> str:
    """The extension in the `agents` context that `target` names; CodedError (422) if none."""
    text = target.strip()
    try:
        number = dial_number(text)
    except ValueError:
        number = ""
    for user in users:
        if user.endpoint and user.extension and (
                text == user.username or text.lower() == user.endpoint.lower() or number == user.extension):
            if own_endpoint is not None and user.endpoint.lower() == own_endpoint.lower():
                raise CodedError(422, "transfer_to_self", "you cannot transfer a call to yourself")
            exten = user.extension
            break
    else:
        if text == queue_name or number == QUEUE_EXTENSION:
            exten = QUEUE_EXTENSION
        elif number.startswith(("0", "+")):
            exten = number
        else:
            raise _unknown(text)
    if not allow.allows(exten):
        raise CodedError(422, "transfer_target_not_allowed",
                         f"{exten!r} is not on this hotline's dial allow-list")
    return exten
