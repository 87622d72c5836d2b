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

`wanted` (optional): the event names anyone reads. An event frame whose first line
names another event and that carries no ActionID (so it answers no action) is counted in
`skipped_frames` and not read into fields: Asterisk sends about two of every three frames
of a queue call (Newstate, Newchannel, DialBegin, BridgeEnter...) that the bridge never
looks at, and reading one costs as much as reading an AgentCalled. Only frames the
fast path would read are skipped; their malformed lines, if any, are not counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

DEFAULT_MAX_FRAME = 64 * 1024
_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")  # with fullmatch: `$` would let a trailing "\n" through
_FORBIDDEN = ("\r", "\n", "\0")
# one `Key: Value` line of a frame (key: no colon, no space; one space after the colon
# dropped): `_fields` line by line says the same, this is its fast path for frames
# without a CR left in them (all of Asterisk's), about twice as fast
_LINE_RE = re.compile(r"^([^: \n]+): ?(.*)$", re.MULTILINE)


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
    """Feed bytes, get messages. Keeps at most one partial frame (bounded)."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, wanted: frozenset[str] | None = None) -> None:
        self.max_frame = max_frame
        self.wanted = wanted
        self._buf = b""
        self._discarding = False
        self._greeted = False
        self.malformed_lines = 0
        self.oversized_frames = 0
        self.skipped_frames = 0

    def feed(self, data: bytes) -> list[Parsed]:
        buf = self._buf + data
        out: list[Parsed] = []
        if self._discarding:
            buf = self._skip_rest_of_frame(buf)
        # Everything up to the last blank line is whole frames: decoding them
        # at once cannot split a UTF-8 character (frames end in ASCII).
        crlf, lf = buf.rfind(b"\n\r\n"), buf.rfind(b"\n\n")
        end = max(crlf + 3 if crlf >= 0 else 0, lf + 2 if lf >= 0 else 0)
        if end:
            self._frames(buf[:end], out)
            buf = buf[end:]
        if not self._greeted and b"\n" in buf and buf.startswith(b"Asterisk Call Manager/"):
            line, _, buf = buf.partition(b"\n")
            self._greeting(line.decode("utf-8", "replace").rstrip("\r"), out)
        if len(buf) > self.max_frame:
            out.append(FrameTooLarge(len(buf)))
            self.oversized_frames += 1
            self._discarding, buf = True, b""
        self._buf = buf
        return out

    def _skip_rest_of_frame(self, buf: bytes) -> bytes:
        for term in (b"\n\r\n", b"\n\n"):
            at = buf.find(term)
            if at >= 0:
                self._discarding = False
                return buf[at + len(term):]
        return b""

    def _greeting(self, line: str, out: list[Parsed]) -> None:
        self._greeted = True
        out.append(Greeting(line.partition("/")[2]))

    def _frames(self, chunk: bytes, out: list[Parsed]) -> None:
        text = chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        for block in text.split("\n\n"):
            if not block or block == "\n":
                continue
            if len(block) > self.max_frame:
                self.oversized_frames += 1
                out.append(FrameTooLarge(len(block)))
                continue
            block = block.strip("\n")
            if self._greeted and "\r" not in block:
                if self.wanted is not None and _unwanted(block, self.wanted):
                    self.skipped_frames += 1
                    continue
                fields = _LINE_RE.findall(block)
                self.malformed_lines += block.count("\n") + 1 - len(fields)
            else:
                fields = self._fields(block.split("\n"), out)
            if fields:
                out.append(AmiMessage(tuple(fields)))

    def _fields(self, lines: list[str], out: list[Parsed]) -> list[tuple[str, str]]:
        fields: list[tuple[str, str]] = []
        for line in lines:
            line = line.rstrip("\r")
            if not self._greeted and not fields and line.startswith("Asterisk Call Manager/"):
                self._greeting(line, out)
                continue
            key, sep, value = line.partition(":")
            if not sep or not key or " " in key:
                self.malformed_lines += 1
                continue
            fields.append((key, value[1:] if value.startswith(" ") else value))
        return fields


def _unwanted(block: str, wanted: frozenset[str]) -> bool:
    """An event nobody reads that answers no action (Asterisk writes `Event: ` first;
    keys are matched without case, as AmiMessage.get does)."""
    if not block.startswith("Event: "):
        return False
    end = block.find("\n")
    return (block[7:end] if end >= 0 else block[7:]) not in wanted and "actionid:" not in block.lower()


def _check(text: str, what: str) -> str:
    if any(ch in text for ch in _FORBIDDEN):
        raise ValueError(f"AMI {what} must not contain CR, LF or NUL: {text!r}")
    return text


def encode_action(
    name: str, fields: Mapping[str, str | Sequence[str]], action_id: str
) -> bytes:
    """Serialise an action; refuses anything that could inject AMI headers."""
    if not _KEY_RE.fullmatch(name):
        raise ValueError(f"bad AMI action name: {name!r}")
    lines = [f"Action: {name}", f"ActionID: {_check(action_id, 'ActionID')}"]
    for key, value in fields.items():
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"bad AMI header name: {key!r}")
        values = [value] if isinstance(value, str) else list(value)
        lines.extend(f"{key}: {_check(v, key)}" for v in values)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
