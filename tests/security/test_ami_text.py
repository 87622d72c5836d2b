"""Issue 11: text that reaches AMI, and Asterisk's `|`-separated queue_log, is one clean field.

The pause reason let VT, FF, U+2028, U+0085 and `|` through into queue_log; patterns
anchored with `$` and applied with `re.match` accepted a trailing newline.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cti import actions
from cti.protocol import encode_action

IFACE, QUEUE = "PJSIP/1001", "hotline"

REFUSED_IN_REASONS = [
    "lunch\x0b", "lunch\x0c", "lunch\u2028", "lunch\u2029", "lunch\u0085", "lunch|x",
    "PAUSE|fake|1", "\x1b[31mred", "del\x7f", "nul\x00", "bell\x07", "tab\there",
    "lone \ud800 surrogate", "bidi \u202eevil", "private \ue000 use",
]


@pytest.mark.parametrize("reason", REFUSED_IN_REASONS)
def test_pause_reason_refuses_control_characters_separators_and_bars(reason: str) -> None:
    with pytest.raises(ValueError, match="pause reason must not contain"):
        actions.queue_pause(IFACE, QUEUE, reason)


@pytest.mark.parametrize("reason", ["Mittagspause", "Pause <lunch>", "Rückruf \u2013 Kunde 😀", "  trimmed  ", ""])
def test_pause_reason_keeps_ordinary_text(reason: str) -> None:
    assert actions.queue_pause(IFACE, QUEUE, reason).fields["Reason"] == reason.strip()


@pytest.mark.parametrize("call", [
    lambda: actions.queue_pause("PJSIP/1001\n", QUEUE, "ok"),
    lambda: actions.queue_pause(IFACE, "hotline\n", "ok"),
    lambda: actions.queue_unpause(IFACE, "hotline\n"),
    lambda: actions.queue_add(IFACE, QUEUE, "anna\n"),
    lambda: actions.queue_remove("PJSIP/1001\n", QUEUE),
    lambda: actions.hangup("PJSIP/1001-0000000a\n"),
], ids=["interface", "queue", "unpause-queue", "member-name", "remove-interface", "channel"])
def test_a_trailing_newline_is_refused_by_every_pattern(call: Any) -> None:
    """`re.match(r"^...$")` accepts "value\\n": every builder uses fullmatch now."""
    with pytest.raises(ValueError, match="invalid"):
        call()


@pytest.mark.parametrize("name, key", [("Ping\n", "Queue"), ("QueuePause", "Queue\n")])
def test_encode_action_refuses_a_name_or_header_with_a_trailing_newline(name: str, key: str) -> None:
    with pytest.raises(ValueError, match="bad AMI"):
        encode_action(name, {key: "hotline"}, "1")


@pytest.mark.parametrize("reason, detail", [
    ("lunch\x0b", "pause reason must not contain"), ("lunch\u2028", "pause reason must not contain"),
    ("lunch\u0085", "pause reason must not contain"), ("a|b", "pause reason must not contain"),
    ("x\ud800", "invalid request"),  # refused before the route: not encodable as UTF-8
])
def test_the_pause_route_answers_422_with_the_reason(login: Any, reason: str, detail: str) -> None:
    anna = login("anna")
    # json.dumps escapes a lone surrogate as \ud800, as a browser would send it
    r = anna.send("POST", "/api/agent/pause", content=json.dumps({"reason": reason}),
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert detail in r.json()["detail"]
    # the same call with a clean reason passes validation and only lacks the PBX (bridge off here)
    assert anna.send("POST", "/api/agent/pause", json={"reason": "lunch"}).status_code == 503
