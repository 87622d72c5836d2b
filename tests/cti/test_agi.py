"""FastAGI framing: the request header, replies (200/510/511/520/HANGUP), commands, garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.agi import (
    AgiProtocolError,
    ReplyKind,
    ReplyReader,
    RequestReader,
    command,
    parse_reply,
    quote,
    set_variable,
)

HEADER = (b"agi_network: yes\n"
          b"agi_network_script: route\n"
          b"agi_request: agi://127.0.0.1:4573/route\n"
          b"agi_channel: PJSIP/trunk-00000001\n"
          b"agi_language: en\n"
          b"agi_uniqueid: 1733029200.17\n"
          b"agi_callerid: +49 341 2538-5555\n"
          b"agi_calleridname: Erika Muster\n"
          b"agi_context: hotline-5555\n"
          b"agi_extension: 5555\n"
          b"agi_priority: 4\n"
          b"agi_arg_1: 1733029200.17\n"
          b"agi_arg_2: second, with comma\n"
          b"\n")


def test_request_header_is_parsed() -> None:
    req = RequestReader().feed(HEADER)
    assert req is not None
    assert req.script == "route"
    assert req.callerid == "+49 341 2538-5555"
    assert req.calleridname == "Erika Muster"
    assert req.uniqueid == "1733029200.17"
    assert req.args == ("1733029200.17", "second, with comma")
    assert req.language == "en" and req.context == "hotline-5555" and req.extension == "5555"


@given(st.lists(st.integers(1, 40), min_size=1, max_size=60))
@settings(max_examples=100, deadline=None)
def test_any_chunking_gives_the_same_request(sizes: list[int]) -> None:
    reader, data, got = RequestReader(), HEADER.replace(b"\n", b"\r\n"), None
    pos, turn = 0, 0
    while pos < len(data):
        size = sizes[turn % len(sizes)]
        got = reader.feed(data[pos:pos + size]) or got
        pos, turn = pos + size, turn + 1
    assert got == RequestReader().feed(HEADER)


def test_unknown_caller_id_is_empty() -> None:
    req = RequestReader().feed(b"agi_network_script: /route?x=1\nagi_callerid: unknown\n\n")
    assert req is not None and req.callerid == "" and req.script == "route" and req.args == ()


@pytest.mark.parametrize("garbage", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"hello world\n\n",
    b"agi_network: yes\nnot a header\n\n",
    b"\xff\xfe\n\n",
    b"agi_" + b"x" * 20_000,
])
def test_garbage_header_is_refused(garbage: bytes) -> None:
    with pytest.raises(AgiProtocolError):
        RequestReader().feed(garbage)


def test_header_size_is_bounded() -> None:
    reader = RequestReader()
    with pytest.raises(AgiProtocolError, match="too large"):
        for i in range(2000):
            reader.feed(f"agi_arg_{i}: {'x' * 20}\n".encode())


@pytest.mark.parametrize(("line", "kind", "result", "detail", "data"), [
    ("200 result=1", ReplyKind.OK, 1, "", ""),
    ("200 result=0 (timeout)", ReplyKind.OK, 0, "timeout", ""),
    ("200 result=1 (hotline) extra", ReplyKind.OK, 1, "hotline", "extra"),
    ("200 result=-1", ReplyKind.OK, -1, "", ""),
    ("510 Invalid or unknown command", ReplyKind.INVALID, None, "", "Invalid or unknown command"),
    ("511 Command Not Permitted on a dead channel or intercept routine", ReplyKind.DEAD, None, "",
     "Command Not Permitted on a dead channel or intercept routine"),
    ("599 what", ReplyKind.OTHER, None, "", "what"),
])
def test_reply_lines(line: str, kind: ReplyKind, result: int | None, detail: str, data: str) -> None:
    reply = parse_reply(line)
    assert (reply.kind, reply.result, reply.detail, reply.data) == (kind, result, detail, data)
    assert reply.ok == (kind is ReplyKind.OK and (result or 0) >= 0)


@pytest.mark.parametrize("bad", ["", "OK", "200", "200 nothing", "20 result=1", "abc result=1"])
def test_bad_reply_lines_are_refused(bad: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(bad)


def test_reader_joins_a_520_usage_block_and_sees_hangup() -> None:
    reader = ReplyReader()
    got = reader.feed(b"200 result=1\n520-Invalid command syntax.  Proper usage follows:\n")
    assert [r.kind for r in got] == [ReplyKind.OK]
    got = reader.feed(b"Usage: SET VARIABLE <variablename> <value>\n520 End of proper usage.\nHANG")
    assert [r.kind for r in got] == [ReplyKind.USAGE]
    assert "SET VARIABLE" in got[0].data
    got = reader.feed(b"UP\n")
    assert [r.kind for r in got] == [ReplyKind.HANGUP]


def test_commands_are_quoted_and_checked() -> None:
    assert set_variable("HOTLINE_QUEUE", "hotline") == b'SET VARIABLE HOTLINE_QUEUE "hotline"\n'
    assert set_variable("X", 'a "b" \\c') == b'SET VARIABLE X "a \\"b\\" \\\\c"\n'
    assert command("ANSWER") == b"ANSWER\n"
    for bad_name in ("", "1X", "A B", "X;Y", "X\nHANGUP"):
        with pytest.raises(ValueError):
            set_variable(bad_name, "v")
    with pytest.raises(ValueError):
        quote("line\nHANGUP")
    for bad_word in ("", "SET VARIABLE", 'X"', "A\nB"):
        with pytest.raises(ValueError):
            command(bad_word)
