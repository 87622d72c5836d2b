"""Run a validated cti action on the PBX and turn AMI errors into HTTP answers.

Layer: edge. Actions are never re-sent: an Originate after a reconnect would
ring a phone twice.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from agent_console.services import Services
from cti.actions import Action
from cti.connection import AmiError, ConnectionLost


async def run_action(services: Services, action: Action) -> dict[str, Any]:
    if services.bridge is None or not services.bridge.connected:
        raise HTTPException(503, "the PBX is not connected; try again in a moment")
    try:
        reply = await services.bridge.send(action.name, action.fields)
    except (AmiError, ConnectionLost, TimeoutError) as exc:
        raise HTTPException(502, f"the PBX refused {action.name}: {exc}") from exc
    return {"status": "ok", "action": action.name, "message": reply.get("Message")}
