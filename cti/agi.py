"""FastAGI protocol, sans-IO: the request header in, commands out, replies in.

Layer: protocol. No sockets, no clock, no asyncio; imports nothing from the
rest of the project.

Asterisk opens a TCP connection per `AGI(agi://host:port/script,args)` and sends
`agi_name: value` lines closed by a blank line (`agi_network_script` is the
script path, `agi_arg_N` the arguments). Then the script sends one command a
line and Asterisk answers each with `200 result=N [(detail)] [data]`, `510` for
an unknown command, `511` on a dead channel, or a multi-line `520-` block (bad
syntax, ended by `520 End of proper usage.`). When the caller hangs up during
FastAGI, Asterisk writes a bare `HANGUP` line. Both readers accept any chunking,
bound their memory and raise `AgiProtocolError` on what is not AGI.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_HEADER_BYTES = 16 * 1024
MAX_LINE_BYTES = 8 * 1024
_NAME = re.compile(r"agi_[a-z0-9_]{1,40}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_()]{0,79}")
_REPLY = re.compile(r"(\d{3})(?:[ -](.*))?")
_RESULT = re.compile(r"result=(-?\d+)(?:\s+\((.*?)\))?\s*(.*)")


class AgiProtocolError(ValueError):
    """Bytes that are not (our) AGI: the connection is closed."""


@dataclass(frozen=True, slots=True)
class AgiRequest:
    """The header block: `script` is the path after the port (no leading `/`)."""

    script: str
    channel: str
    uniqueid: str
    callerid: str
    calleridname: str
    language: str
    context: str
    extension: str
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AgiRequest:
        script = env.get("agi_network_script", "").split("?", 1)[0].strip("/")
        args: list[str] = []
        while f"agi_arg_{len(args) + 1}" in env:
            args.append(env[f"agi_arg_{len(args) + 1}"])
        return cls(script=script, channel=env.get("agi_channel", ""),
                   uniqueid=env.get("agi_uniqueid", ""), callerid=_unknown(env.get("agi_callerid", "")),
                   calleridname=_unknown(env.get("agi_calleridname", "")),
                   language=env.get("agi_language", ""), context=env.get("agi_context", ""),
                   extension=env.get("agi_extension", ""), args=tuple(args), env=dict(env))


def _unknown(value: str) -> str:
    """Asterisk writes `unknown` where a caller ID is missing."""
    return "" if value == "unknown" else value


class _Lines:
    """Whole `\\n`-ended lines (a trailing `\\r` dropped) from any chunking."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[str]:
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        if len(self._buf) > MAX_LINE_BYTES or any(len(x) > MAX_LINE_BYTES for x in lines):
            raise AgiProtocolError("line too long")
        try:
            return [line.rstrip(b"\r").decode("utf-8") for line in lines]
        except UnicodeDecodeError as exc:
            raise AgiProtocolError("not UTF-8") from exc


class RequestReader:
    """Feed bytes until `feed` returns the AgiRequest (after the blank line)."""

    def __init__(self) -> None:
        self._lines, self._env, self._size = _Lines(), dict[str, str](), 0
        self.done = False

    def feed(self, data: bytes) -> AgiRequest | None:
        if self.done:
            raise AgiProtocolError("header already complete")
        self._size += len(data)
        if self._size > MAX_HEADER_BYTES + MAX_LINE_BYTES:
            raise AgiProtocolError("header too large")
        for line in self._lines.feed(data):
            if line == "":
                if not self._env:
                    continue  # stray blank lines before the header
                self.done = True
                return AgiRequest.from_env(self._env)
            name, sep, value = line.partition(": ")
            if not sep:
                name, sep, value = line.partition(":")
            if not sep or not _NAME.fullmatch(name):
                raise AgiProtocolError(f"not an AGI header line: {line[:60]!r}")
            self._env.setdefault(name, value.strip())
        return None


class ReplyKind(enum.StrEnum):
    OK = "ok"  # 200
    INVALID = "invalid"  # 510: unknown command
    DEAD = "dead"  # 511: not permitted on a dead channel
    USAGE = "usage"  # 520: bad syntax (the usage text in `data`)
    HANGUP = "hangup"  # the caller hung up (a bare HANGUP line)
    OTHER = "other"  # any other status code


@dataclass(frozen=True, slots=True)
class AgiReply:
    kind: ReplyKind
    code: int
    result: int | None = None  # 200's result=N
    detail: str = ""  # 200's (detail), e.g. "timeout"
    data: str = ""  # what follows, or an error's text

    @property
    def ok(self) -> bool:
        return self.kind is ReplyKind.OK and (self.result or 0) >= 0


_KINDS = {200: ReplyKind.OK, 510: ReplyKind.INVALID, 511: ReplyKind.DEAD, 520: ReplyKind.USAGE}


class ReplyReader:
    """Feed bytes, get the replies that are complete (a 520 block is one reply)."""

    def __init__(self) -> None:
        self._lines = _Lines()
        self._usage: list[str] | None = None

    def feed(self, data: bytes) -> list[AgiReply]:
        out: list[AgiReply] = []
        for line in self._lines.feed(data):
            if self._usage is not None:  # inside a 520- block: until "520 End..."
                if line.startswith("520 "):
                    out.append(AgiReply(ReplyKind.USAGE, 520, data="\n".join(self._usage)))
                    self._usage = None
                elif len(self._usage) < 100:
                    self._usage.append(line)
                continue
            if line.strip() == "":
                continue
            if line.strip() == "HANGUP":
                out.append(AgiReply(ReplyKind.HANGUP, 0))
                continue
            if line.startswith("520-"):
                self._usage = [line[4:]]
                continue
            out.append(parse_reply(line))
        return out


def parse_reply(line: str) -> AgiReply:
    """One reply line: `200 result=1 (timeout) data`, `510 Invalid or unknown command`."""
    m = _REPLY.fullmatch(line.strip())
    if m is None:
        raise AgiProtocolError(f"not an AGI reply: {line[:60]!r}")
    code, rest = int(m.group(1)), (m.group(2) or "").strip()
    kind = _KINDS.get(code, ReplyKind.OTHER)
    if kind is not ReplyKind.OK:
        return AgiReply(kind, code, data=rest)
    r = _RESULT.fullmatch(rest)
    if r is None:
        raise AgiProtocolError(f"200 without result=: {line[:60]!r}")
    return AgiReply(kind, code, int(r.group(1)), r.group(2) or "", r.group(3))


def quote(value: str) -> str:
    """One AGI argument in double quotes (Asterisk's parser honours `\\` escapes)."""
    if any(c in value for c in "\r\n\0"):
        raise ValueError("an AGI argument cannot hold a line break or NUL")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command(*words: str) -> bytes:
    """A command line: the verb words as they are, e.g. command("ANSWER")."""
    for word in words:
        if not word or any(c.isspace() or c in '"\\' for c in word) or not word.isprintable():
            raise ValueError(f"bad AGI command word {word!r}")
    return (" ".join(words) + "\n").encode()


def set_variable(name: str, value: str) -> bytes:
    """SET VARIABLE name "value" (the name checked, the value quoted)."""
    if not _VARIABLE.fullmatch(name):
        raise ValueError(f"bad channel variable name {name!r}")
    return f"SET VARIABLE {name} {quote(value)}\n".encode()


def verbose(message: str, level: int = 3) -> bytes:
    return f"VERBOSE {quote(message)} {int(level)}\n".encode()
