"""Typed builders for the AMI actions the console triggers, every value validated.

Layer: domain (pure). Must not import from the rest of the project.
Values are checked against strict patterns before they reach AMI, so caller-
or agent-supplied text can never inject headers (CR/LF/NUL) or dial strings,
and numbers to dial must be on the dial allow-list (cti.dial_allow). Patterns
are applied with fullmatch: a `$`-anchored `re.match` also accepts a trailing
newline. `idempotent` says whether the action may be repeated safely; the
client never re-sends any action after a reconnect either way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cti.dial_allow import DialAllowList

_INTERFACE = re.compile(r"PJSIP/[A-Za-z0-9_.+-]{1,40}")
_CHANNEL = re.compile(r"PJSIP/[A-Za-z0-9_.+-]{1,40}-[0-9a-f]{8}")
_QUEUE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
_CONTEXT = re.compile(r"[A-Za-z0-9_-]{1,40}")
_MEMBER_NAME = re.compile(r"[A-Za-z0-9_. -]{1,40}")
_REASON_MAX = 64
# Free text that Asterisk writes into queue_log, whose fields are `|`-separated
# lines: no control characters (Cc: also VT, FF, U+0085), no line or paragraph
# separators (U+2028/9), no surrogates (not encodable as UTF-8), no unassigned
# or private-use code points, no bidi overrides (they reorder what a supervisor
# reads), and no `|`. The same set as tickets.customers.clean_text, plus `|`.
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_BAD_CHARS = frozenset("|\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The pause reason of an extended wrap-up ("more time" after a call): Asterisk shows
# it in `queue show` and QueueMemberPause; the console labels it in the user's language.
WRAP_UP_REASON = "wrap-up"


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    fields: dict[str, str]
    idempotent: bool


@dataclass(frozen=True, slots=True)
class ActionResult:
    """Asterisk accepted an action; `message` is what it said (may be empty). A
    refusal is an AmiError instead. Made from the raw reply by cti.translate."""

    message: str


def _match(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def _queue_log_text(text: str, what: str, limit: int) -> str:
    """One field of free text for AMI and queue_log, stripped; ValueError saying why not."""
    bad = next((ch for ch in text if ch in _BAD_CHARS or unicodedata.category(ch) in _BAD_CATEGORIES), None)
    if bad is not None:
        raise ValueError(f"{what} must not contain control characters, line separators or '|' "
                         f"(found U+{ord(bad):04X})")
    if len(text) > limit:
        raise ValueError(f"{what} must be at most {limit} characters")
    return text.strip()


def dial_number(number: str) -> str:
    """Digits (and a leading +) only: '0341/2538-5555' -> '034125385555'."""
    if any(ch in number for ch in "\r\n\0\t"):
        raise ValueError(f"invalid number to dial: {number!r}")
    cleaned = re.sub(r"[ \-/().]", "", number)
    return _match(_NUMBER, cleaned, "number to dial")


def queue_pause(interface: str, queue: str, reason: str) -> Action:
    return Action("QueuePause", {"Interface": _match(_INTERFACE, interface, "interface"),
                                 "Queue": _match(_QUEUE, queue, "queue"), "Paused": "true",
                                 "Reason": _queue_log_text(reason, "pause reason", _REASON_MAX)}, idempotent=True)


def wrap_up_pause(interface: str, queue: str) -> Action:
    """More time after a call: a QueuePause with the wrap-up reason keeps the agent
    out of the queue once Asterisk's own wrap-up (wrapuptime) is over."""
    return queue_pause(interface, queue, WRAP_UP_REASON)


def queue_unpause(interface: str, queue: str) -> Action:
    return Action("QueuePause", {"Interface": _match(_INTERFACE, interface, "interface"),
                                 "Queue": _match(_QUEUE, queue, "queue"), "Paused": "false"},
                  idempotent=True)


def queue_add(interface: str, queue: str, member_name: str, penalty: int = 0) -> Action:
    """`penalty`: the member's focus-team band (tickets/routing.py), 0 for none."""
    name = _match(_MEMBER_NAME, member_name, "member name")
    if not 0 <= penalty <= 9999:
        raise ValueError("penalty: 0..9999")
    return Action("QueueAdd", {"Interface": _match(_INTERFACE, interface, "interface"),
                               "Queue": _match(_QUEUE, queue, "queue"), "MemberName": name,
                               "StateInterface": interface, "Paused": "false",
                               "Penalty": str(int(penalty))}, idempotent=True)


def queue_remove(interface: str, queue: str) -> Action:
    return Action("QueueRemove", {"Interface": _match(_INTERFACE, interface, "interface"),
                                  "Queue": _match(_QUEUE, queue, "queue")}, idempotent=True)


def originate(from_interface: str, number: str, allow: DialAllowList, context: str = "agents",
              timeout_s: int = 30) -> Action:
    """Click-to-dial: ring the agent's own phone, then dial `number` from it
    (only a number on the allow-list: DialRefused, a ValueError, otherwise)."""
    exten = allow.check(dial_number(number))
    return Action("Originate", {
        "Channel": _match(_INTERFACE, from_interface, "interface"),
        "Exten": exten, "Context": _match(_CONTEXT, context, "context"),
        "Priority": "1", "Timeout": str(int(timeout_s) * 1000), "Async": "true",
        "CallerID": f"<{exten}>"}, idempotent=False)


_E164 = re.compile(r"\+[1-9][0-9]{5,16}")


def callback_originate(agent_interface: str, number: str, callback_id: int, allow: DialAllowList,
                       timeout_s: int = 20) -> Action:
    """hotline's callback, agent first: ring the agent's phone into the dialplan's
    `hotline-callback`, which dials `number` (the E.164 number that called in, as it
    goes to the trunk; only when the dial allow-list reaches it, like every number
    hotline dials: DialRefused otherwise) once the agent answers. The id goes to both
    legs (`__` inherits it) for the HotlineCallbackResult user event."""
    if not 0 < int(callback_id) < 2**31:
        raise ValueError(f"bad callback id {callback_id!r}")
    number = allow.check(_match(_E164, number, "callback number"))
    return Action("Originate", {
        "Channel": _match(_INTERFACE, agent_interface, "interface"), "Context": "hotline-callback",
        "Exten": "s", "Priority": "1", "Timeout": str(int(timeout_s) * 1000), "Async": "true",
        "CallerID": f"<{number}>",
        "Variable": f"__HOTLINE_CALLBACK_ID={int(callback_id)},HOTLINE_CALLBACK_NUMBER={number}"},
        idempotent=False)


def blind_transfer(channel: str, exten: str, allow: DialAllowList, context: str = "agents") -> Action:
    """Move the other party of `channel` to `exten` (on the allow-list, as originate)."""
    return Action("BlindTransfer", {"Channel": _match(_CHANNEL, channel, "channel"),
                                    "Exten": allow.check(dial_number(exten)),
                                    "Context": _match(_CONTEXT, context, "context")},
                  idempotent=False)


def hangup(channel: str) -> Action:
    return Action("Hangup", {"Channel": _match(_CHANNEL, channel, "channel")}, idempotent=False)
