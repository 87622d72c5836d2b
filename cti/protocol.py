"""AMI framing, sans-IO: bytes in, `AmiMessage`s out; actions to bytes.

Layer: protocol. No sockets, no clock, no asyncio; must not import anything
from the rest of the project (nor cti's higher layers).

A message is `Key: Value` lines ended by CRLF and closed by a blank line. The
parser accepts any chunking (a split inside CRLF, inside a multi-byte UTF-8
character, anywhere): it only decodes whole lines, so nothing is lost where
panoramisk 1.4 dropped characters split across reads. It tolerates stray blank
lines between messages and bare LF endings, counts malformed lines instead of
raising, and refuses a frame larger than `max_frame` bytes: it discards up to
the next blank line and reports a `FrameTooLarge` item, so memory stays bounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

DEFAULT_MAX_FRAME = 64 * 1024
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_FORBIDDEN = ("\r", "\n", "\0")


@dataclass(frozen=True, slots=True)
class AmiMessage:
    fields: tuple[tuple[str, str], ...]
    _index: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for key, value in self.fields:
            self._index.setdefault(key.lower(), value)

    def get(self, key: str, default: str = "") -> str:
        return self._index.get(key.lower(), default)

    def get_all(self, key: str) -> list[str]:
        low = key.lower()
        return [v for k, v in self.fields if k.lower() == low]

    @property
    def kind(self) -> str:
        if "event" in self._index:
            return "event"
        if "response" in self._index:
            return "response"
        return "other"

    @property
    def name(self) -> str:
        return self.get("Event") or self.get("Response")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")


@dataclass(frozen=True, slots=True)
class FrameTooLarge:
    size: int


@dataclass(frozen=True, slots=True)
class Greeting:
    version: str


Parsed = AmiMessage | FrameTooLarge | Greeting


class AmiParser:
    """Feed bytes, get messages. Keeps at most one partial line and one frame."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._lines: list[tuple[str, str]] = []
        self._frame_size = 0
        self._discarding = False
        self._greeted = False
        self.malformed_lines = 0
        self.oversized_frames = 0

    def feed(self, data: bytes) -> list[Parsed]:
        self._buf += data
        out: list[Parsed] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                break
            raw = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            self._line(raw.removesuffix(b"\r"), out)
        if len(self._buf) > self.max_frame:
            # a single endless line: drop it, and the rest of its frame
            self._frame_size += len(self._buf)
            self._buf.clear()
            self._start_discard(out)
        return out

    def _line(self, raw: bytes, out: list[Parsed]) -> None:
        if not raw:
            self._end_frame(out)
            return
        if self._discarding:
            return
        self._frame_size += len(raw) + 2
        if self._frame_size > self.max_frame:
            self._start_discard(out)
            return
        text = raw.decode("utf-8", "replace")
        if not self._greeted and not self._lines and text.startswith("Asterisk Call Manager/"):
            self._greeted = True
            out.append(Greeting(text.partition("/")[2]))
            self._frame_size = 0
            return
        key, sep, value = text.partition(":")
        if not sep or not key or " " in key:
            self.malformed_lines += 1
            return
        self._lines.append((key, value[1:] if value.startswith(" ") else value))

    def _start_discard(self, out: list[Parsed]) -> None:
        if not self._discarding:
            self.oversized_frames += 1
            out.append(FrameTooLarge(self._frame_size))
        self._discarding = True
        self._lines.clear()

    def _end_frame(self, out: list[Parsed]) -> None:
        if self._lines and not self._discarding:
            out.append(AmiMessage(tuple(self._lines)))
        self._lines = []
        self._frame_size = 0
        self._discarding = False


def _check(text: str, what: str) -> str:
    if any(ch in text for ch in _FORBIDDEN):
        raise ValueError(f"AMI {what} must not contain CR, LF or NUL: {text!r}")
    return text


def encode_action(
    name: str, fields: Mapping[str, str | Sequence[str]], action_id: str
) -> bytes:
    """Serialise an action; refuses anything that could inject AMI headers."""
    if not _KEY_RE.match(name):
        raise ValueError(f"bad AMI action name: {name!r}")
    lines = [f"Action: {name}", f"ActionID: {_check(action_id, 'ActionID')}"]
    for key, value in fields.items():
        if not _KEY_RE.match(key):
            raise ValueError(f"bad AMI header name: {key!r}")
        values = [value] if isinstance(value, str) else list(value)
        lines.extend(f"{key}: {_check(v, key)}" for v in values)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
