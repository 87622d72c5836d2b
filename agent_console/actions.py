"""Run a validated cti action on the PBX and turn AMI errors into HTTP answers.

Layer: edge. Actions are never re-sent: an Originate after a reconnect would
ring a phone twice. The PBX is this instance's AMI bridge or, on a web-only
instance, the bridge instance over Redis (agent_console.scaleout.remote): no way
to it is a 503, a refusal by Asterisk a 502, on either. Two refusals are no fault of
the PBX and are not shown as one (texts as Asterisk 22.10 sends them): joining a
queue one is already in, or leaving one one is not in, is done already (200 with
`already: true`; an agent clicks twice, or the demo logged them in); pausing while
not in the queue is a 409 `not_in_queue` that says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import HTTPException

from agent_console.errors import CodedError
from agent_console.scaleout.port import PbxPort, PbxUnavailable
from agent_console.services import Services
from cti.actions import Action
from cti.connection import AmiError, ConnectionLost


def _pbx(services: Services) -> PbxPort:
    if services.pbx is None or not services.pbx.connected:
        raise HTTPException(503, "the PBX is not connected; try again in a moment")
    return services.pbx


@contextlib.contextmanager
def _answers(name: str) -> Iterator[None]:
    """No way to the PBX: 503; Asterisk refused (or the link broke mid-action): 502."""
    try:
        yield
    except PbxUnavailable as exc:
        raise HTTPException(503, f"{name} did not reach the PBX: {exc}") from exc
    except (AmiError, ConnectionLost, TimeoutError) as exc:
        raise HTTPException(502, f"the PBX refused {name}: {exc}") from exc


ALREADY = {"QueueAdd": "Already there", "QueueRemove": "Not there"}
NOT_A_MEMBER = {"QueuePause": "Interface not found"}


def _settled(name: str, refusal: str) -> dict[str, Any] | None:
    """A refusal that means the wanted state holds already: its answer; not a member: 409."""
    if name in ALREADY and ALREADY[name] in refusal:
        return {"status": "ok", "action": name, "message": refusal, "already": True}
    if name in NOT_A_MEMBER and NOT_A_MEMBER[name] in refusal:
        raise CodedError(409, "not_in_queue", f"{name}: this phone is not in the queue; join the queue first")
    return None


async def run_action(services: Services, action: Action) -> dict[str, Any]:
    pbx = _pbx(services)
    with _answers(action.name):
        try:
            reply = await pbx.send(action.name, action.fields)
        except AmiError as exc:
            settled = _settled(action.name, str(exc))
            if settled is None:
                raise
            return settled
    return {"status": "ok", "action": action.name, "message": reply.message}
