"""Run a validated cti action on the PBX and turn AMI errors into HTTP answers.

Layer: edge. Actions are never re-sent: an Originate after a reconnect would
ring a phone twice. The PBX is this instance's AMI bridge or, on a web-only
instance, the bridge instance over Redis (agent_console.scaleout.remote): no way
to it is a 503, a refusal by Asterisk a 502, on either.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import HTTPException

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


async def run_action(services: Services, action: Action) -> dict[str, Any]:
    pbx = _pbx(services)
    with _answers(action.name):
        reply = await pbx.send(action.name, action.fields)
    return {"status": "ok", "action": action.name, "message": reply.message}
