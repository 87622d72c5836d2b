"""One ticket, all its conversation: calls, mails, form entries, faxes and the mails sent
to the caller as one list, oldest first.

Layer: pure (no I/O): it merges what tickets.ticket_search.ticket_calls and
tickets.intake.Conversation read. Each item is `{"kind", "at", ...}` with kind
call | email | form | fax | notification and the record under `call`, `message`
or `notification`. Message bodies are text (HTML mail was made text on the way
in); the page shows them as text, never as markup.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_FIRST = datetime.min.replace(tzinfo=UTC)


def _when(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def _key(item: dict[str, Any]) -> tuple[datetime, int]:
    at = item["at"]
    return (datetime.fromisoformat(at) if at else _FIRST, item["_order"])


def with_agent_names(calls: list[dict[str, Any]], names: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """Each call with `agent_name`: the display name of the user whose endpoint answered it
    at the call's site (("main", "PJSIP/1001") -> "Anna Berger"; each site's Asterisk has its
    own PJSIP/1001), None when no user there has that endpoint."""
    return [{**c, "agent_name": names.get((c.get("site") or "", c.get("agent") or ""))} for c in calls]


def merge(calls: list[dict[str, Any]], conversation: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for c in calls:
        items.append({"kind": "call", "at": _when(c.get("entered_at"), c.get("answered_at"), c.get("ended_at")),
                      "call": c, "_order": 0})
    for m in conversation["messages"]:
        items.append({"kind": m["channel"], "at": m["received_at"], "message": m, "_order": 1})
    for n in conversation["notifications"]:
        items.append({"kind": "notification", "at": _when(n.get("sent_at"), n.get("created_at")),
                      "notification": n, "_order": 2})
    items.sort(key=_key)
    for item in items:
        del item["_order"]
    return items
