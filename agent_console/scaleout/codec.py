"""Typed codec for what travels over Redis: bus events and the relay's messages.

Layer: domain-edge, pure (no I/O, no clock). Imports only cti.events, tickets.sites and
tickets.events. Never pickle: a message is JSON `{"type": tag, "fields": {...}}`,
the tag one of the explicit lists below, each field encoded by its declared type
(datetimes as ISO 8601 with their offset, enums by value, tuples and frozensets
as lists, nested snapshots as tagged objects). Decoding is strict: an unknown
tag, a missing or extra field, or a value of the wrong type raises CodecError,
so a peer on another version fails loudly instead of publishing half an event.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cti import events as ev
from tickets.events import CallbacksWaiting, SurveyAnswered, TicketCreated, TicketUpdated
from tickets.sites import DEFAULT_SITE

VERSION = 4  # 2: event, state and announcement frames carry the site; 3: an agent carries its queue penalty;
# 4: an announcement carries its site's live queue figures and says when the bridge leaves

# What the bridge instance relays: everything the notifier, the live queue
# projection, the hub and /healthz consume on a web-only instance.
RELAYED: tuple[type, ...] = (ev.CallerJoinedQueue, ev.CallUpdated, ev.AgentUpdated, ev.PbxConnected,
                             ev.PbxDisconnected, TicketCreated, ev.QueueWrapUpTime, SurveyAnswered,
                             CallbacksWaiting, ev.CallbackRinging, ev.CallbackDialed)  # the last two: a callback's pop
# What every instance shares with all the others (the bridge instance and web
# instances alike): edits made through one instance's API. Carried by PeerEvent.
SHARED: tuple[type, ...] = (TicketUpdated,)


@dataclass(frozen=True, slots=True)
class SiteLive:
    """A site's queue now, as its bridge instance sees it: what every other instance's
    sites board shows for that site, so none of them follows another site's whole
    event stream to count its callers and agents."""

    pbx_connected: bool
    waiting: int
    oldest_entered_at: datetime | None
    available: int
    staffed: int


_NESTED: tuple[type, ...] = (ev.CallSnapshot, ev.AgentSnapshot, ev.CallRoute, SiteLive, *SHARED)


class CodecError(ValueError):
    """A message that is not one of ours, or not of this version."""


# --- the relay's own messages ------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One bus event from the bridge instance `origin` of `site`; `seq` counts up by one
    per event so a subscriber notices a gap (lost while Redis was away) or a repeat."""

    origin: str
    seq: int
    event: object
    site: str = DEFAULT_SITE


@dataclass(frozen=True, slots=True)
class StateRequest:
    """A web instance asks for the live state, answered on `reply_to`."""

    reply_to: str


@dataclass(frozen=True, slots=True)
class StateReply:
    """The bridge's registry as of event `seq`: a RESYNCED CallUpdated per live call,
    an AgentUpdated per agent and the queue's wrapuptime (QueueWrapUpTime)."""

    origin: str
    seq: int
    pbx_connected: bool
    events: tuple[object, ...]
    site: str = DEFAULT_SITE


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """Run one agent action (built by cti.actions) on the bridge instance."""

    id: str
    reply_to: str
    name: str
    fields: tuple[tuple[str, str], ...]


class ActionStatus(enum.StrEnum):
    OK = "ok"
    REFUSED = "refused"  # Asterisk answered with an error (AmiError)
    UNAVAILABLE = "unavailable"  # the bridge has no AMI connection, or it was lost


@dataclass(frozen=True, slots=True)
class ActionReply:
    """The outcome of one ActionRequest, typed: what Asterisk said, never its raw fields."""

    id: str
    status: ActionStatus
    message: str


@dataclass(frozen=True, slots=True)
class PeerEvent:
    """A SHARED event from instance `origin` (bridge or web) to every other instance,
    on the peers channel; not numbered (nothing to resync: the database has it)."""

    origin: str
    event: TicketUpdated


@dataclass(frozen=True, slots=True)
class BridgeAnnouncement:
    """A bridge instance of `site` says it runs, on the peers channel (when it connects,
    every few seconds, whenever its site's `live` figures change, and in answer to another
    one it had not seen): a second bridge instance of the same site, prefix and queue is a
    configuration error that must show; bridges of other sites are normal (one per site).
    `leaving`: it stops now (its site is down at once, not after falling silent)."""

    origin: str
    site: str = DEFAULT_SITE
    live: SiteLive | None = None
    leaving: bool = False


Message = EventMessage | StateRequest | StateReply | ActionRequest | ActionReply | PeerEvent | BridgeAnnouncement
MESSAGES: tuple[type, ...] = (EventMessage, StateRequest, StateReply, ActionRequest, ActionReply, PeerEvent,
                              BridgeAnnouncement)

_EVENT_TAGS = {t.__name__: t for t in RELAYED}
_NESTED_TAGS = {t.__name__: t for t in _NESTED}
_MESSAGE_TAGS = {t.__name__: t for t in MESSAGES}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The relayed class's field types, resolved once per class: resolving them on every
    frame (typing.get_type_hints) was about a fifth of a busy bridge's CPU."""
    return typing.get_type_hints(cls)


# --- encoding -----------------------------------------------------------------


def _tagged(obj: object, allowed: dict[str, type]) -> dict[str, Any]:
    name = type(obj).__name__
    if allowed.get(name) is not type(obj):
        raise CodecError(f"{name} is not relayed")
    cls: Any = type(obj)
    hints = _hints(cls)
    return {"type": cls.__name__,
            "fields": {f.name: _enc(getattr(obj, f.name), hints[f.name]) for f in dataclasses.fields(cls)}}


def _enc(value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        return _enc(value, next(a for a in args if a is not type(None)))
    if hint is object:
        return _tagged(value, _EVENT_TAGS)
    if hint is datetime:
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise CodecError(f"not a timezone-aware datetime: {value!r}")
        return value.isoformat()
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value).value
    if hint in _NESTED:
        return _tagged(value, _NESTED_TAGS)
    if origin is frozenset:
        return sorted(_enc(v, args[0]) for v in value)
    if origin is tuple:
        return [_enc(v, args[0] if args[-1] is Ellipsis else args[i]) for i, v in enumerate(value)]
    if hint in (str, int, float, bool):
        return _scalar(value, hint)
    raise CodecError(f"no encoding for {hint!r}")


def _scalar(value: Any, hint: type) -> Any:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not hint:
        raise CodecError(f"expected {hint.__name__}, got {type(value).__name__}")
    return value


def encode(message: Message) -> bytes:
    """One relay message as JSON bytes (ASCII: lone surrogates survive as escapes)."""
    body = _tagged(message, _MESSAGE_TAGS)
    try:
        return json.dumps({"v": VERSION, **body}, allow_nan=False, separators=(",", ":")).encode()
    except ValueError as exc:  # NaN or infinity: not valid JSON
        raise CodecError(str(exc)) from exc


# --- decoding -------------------------------------------------------------------


def _untag(data: Any, allowed: dict[str, type]) -> Any:
    if not isinstance(data, dict) or set(data) - {"v"} != {"type", "fields"}:
        raise CodecError("expected {type, fields}")
    cls: Any = allowed.get(data["type"]) if isinstance(data["type"], str) else None
    if cls is None:
        raise CodecError(f"unknown type {data['type']!r}")
    fields, hints = data["fields"], _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(fields, dict) or set(fields) != set(names):
        raise CodecError(f"{cls.__name__}: fields must be exactly {names}")
    try:
        return cls(**{name: _dec(fields[name], hints[name]) for name in names})
    except (TypeError, ValueError) as exc:
        raise CodecError(f"{cls.__name__}: {exc}") from exc


def _dec(value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        return _dec(value, next(a for a in args if a is not type(None)))
    if hint is object:
        return _untag(value, _EVENT_TAGS)
    if hint is datetime:
        at = datetime.fromisoformat(_scalar(value, str))
        if at.tzinfo is None:
            raise CodecError(f"datetime without a time zone: {value!r}")
        return at
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if hint in _NESTED:
        return _untag(value, _NESTED_TAGS)
    if origin in (frozenset, tuple):
        if not isinstance(value, list):
            raise CodecError(f"expected a list for {hint!r}")
        if origin is frozenset:
            return frozenset(_dec(v, args[0]) for v in value)
        if args[-1] is not Ellipsis and len(value) != len(args):
            raise CodecError(f"expected {len(args)} items for {hint!r}")
        return tuple(_dec(v, args[0] if args[-1] is Ellipsis else args[i]) for i, v in enumerate(value))
    if hint in (str, int, float, bool):
        return _scalar(value, hint)
    raise CodecError(f"no decoding for {hint!r}")


def decode(data: bytes | str) -> Message:
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CodecError(f"not JSON: {exc}") from exc
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise CodecError(f"not a version {VERSION} relay message")
    message: Message = _untag(body, _MESSAGE_TAGS)
    return message
