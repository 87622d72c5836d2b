"""AMI framing: any chunking, garbage, oversized frames, header injection."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.protocol import AmiMessage, AmiParser, FrameTooLarge, Greeting, encode_action

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "transcripts"
keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True)
values = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
messages = st.lists(st.lists(st.tuples(keys, values), min_size=1, max_size=6), max_size=8)


def _encode(msgs: list[list[tuple[str, str]]]) -> bytes:
    return b"".join(
        ("".join(f"{k}: {v}\r\n" for k, v in m) + "\r\n").encode() for m in msgs
    )


def _strip(v: str) -> str:
    return v


@given(messages, st.lists(st.integers(1, 64), min_size=1, max_size=50))
@settings(max_examples=200, deadline=None)
def test_any_chunking_gives_the_same_messages(msgs, sizes) -> None:  # type: ignore[no-untyped-def]
    data = _encode(msgs)
    parser, out, pos, i = AmiParser(), [], 0, 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        out += parser.feed(data[pos:pos + n])
        pos, i = pos + n, i + 1
    got = [m.fields for m in out if isinstance(m, AmiMessage)]
    assert got == [tuple(m) for m in msgs]


@given(st.binary(max_size=4000))
@settings(max_examples=300, deadline=None)
def test_random_bytes_never_crash_and_memory_stays_bounded(data: bytes) -> None:
    parser = AmiParser(max_frame=1024)
    for i in range(0, len(data), 97):
        parser.feed(data[i:i + 97])
    assert len(parser._buf) <= 1024 + 97


# lines as they may come: good ones, keys with spaces or none, no colon, stray CRs, colons in values
lines = st.lists(st.one_of(
    st.tuples(keys, values).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    st.text(st.sampled_from("Ab :\r\t-x"), min_size=1, max_size=12),
    st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), min_size=1, max_size=20),
), min_size=1, max_size=8)


@given(lines)
@settings(max_examples=300, deadline=None)
def test_the_fast_path_reads_a_frame_as_the_line_by_line_one(frame: list[str]) -> None:
    """Frames without a CR take one regular expression (cti.protocol._LINE_RE); the rest go
    line by line (_fields). Both must give the same fields and the same malformed count."""
    wire = "\n".join(frame) + "\n\n"
    text = wire.replace("\r\n", "\n").strip("\n")  # as the parser reads it: a CR before LF ends the line
    if not text or "\n\n" in text:
        return
    fast, slow = AmiParser(), AmiParser()
    fast._greeted = slow._greeted = True
    reference = slow._fields(text.split("\n"), [])
    got = fast.feed(wire.encode())
    assert [m.fields for m in got if isinstance(m, AmiMessage)] == ([tuple(reference)] if reference else [])
    assert fast.malformed_lines == slow.malformed_lines


def test_a_frame_with_a_cr_inside_a_line_is_read_line_by_line() -> None:
    parser = AmiParser()
    parser._greeted = True
    [msg] = parser.feed(b"Event: A\nKe\ry: v\r\r\nBad line\nX:  two\n\n")
    assert msg.fields == (("Event", "A"), ("Ke\ry", "v"), ("X", " two"))
    assert parser.malformed_lines == 1


def test_utf8_character_split_across_reads_is_kept() -> None:
    data = "Event: QueueCallerJoin\r\nCallerIDName: Jürgen Groß\r\n\r\n".encode()
    cut = data.index("ü".encode()) + 1  # inside the two-byte ü
    parser = AmiParser()
    out = parser.feed(data[:cut]) + parser.feed(data[cut:])
    assert isinstance(out[0], AmiMessage)
    assert out[0].get("CallerIDName") == "Jürgen Groß"


def test_greeting_blank_lines_bare_lf_and_garbage() -> None:
    data = (b"Asterisk Call Manager/9.0.0\r\n\r\n\r\nEvent: A\nX: 1\n\n"
            b"this is not a header\r\nEvent: B\r\n\r\n")
    parser = AmiParser()
    out = parser.feed(data)
    assert isinstance(out[0], Greeting) and out[0].version == "9.0.0"
    names = [m.name for m in out if isinstance(m, AmiMessage)]
    assert names == ["A", "B"]
    assert parser.malformed_lines == 1


def test_oversized_frame_is_refused_and_the_next_one_arrives() -> None:
    parser = AmiParser(max_frame=1000)
    big = b"Event: Huge\r\n" + b"".join(b"X%d: %s\r\n" % (i, b"y" * 50) for i in range(100))
    out = parser.feed(big + b"\r\nEvent: After\r\n\r\n")
    assert any(isinstance(m, FrameTooLarge) for m in out)
    assert [m.name for m in out if isinstance(m, AmiMessage)] == ["After"]
    assert parser.oversized_frames == 1


def test_endless_line_is_dropped_without_growing() -> None:
    parser = AmiParser(max_frame=1000)
    for _ in range(100):
        parser.feed(b"z" * 500)
    assert len(parser._buf) <= 1000
    out = parser.feed(b"\r\n\r\nEvent: Ok\r\n\r\n")
    assert [m.name for m in out if isinstance(m, AmiMessage)] == ["Ok"]


def test_repeated_keys_are_kept_in_order() -> None:
    msg = AmiParser().feed(b"Event: X\r\nVariable: a=1\r\nVariable: b=2\r\n\r\n")[0]
    assert isinstance(msg, AmiMessage)
    assert msg.get_all("variable") == ["a=1", "b=2"] and msg.get("VARIABLE") == "a=1"


@pytest.mark.parametrize("bad", ["x\r\nAction: Originate", "a\nb", "nul\0", "\r"])
def test_encode_refuses_header_injection(bad: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        encode_action("QueuePause", {"Reason": bad}, "1")
    with pytest.raises(ValueError):
        encode_action("QueuePause", {"Bad Key": "x"}, "1")
    with pytest.raises(ValueError):
        encode_action("Queue\r\nPause", {}, "1")


def test_encode_round_trips() -> None:
    data = encode_action("QueuePause", {"Interface": "PJSIP/1001", "Variable": ["a=1", "b=2"]}, "7")
    msg = AmiParser().feed(data)[0]
    assert isinstance(msg, AmiMessage)
    assert msg.get("Action") == "QueuePause" and msg.action_id == "7"
    assert msg.get_all("Variable") == ["a=1", "b=2"]


@pytest.mark.parametrize("name", ["answered", "abandoned", "queue_timeout", "after_hours"])
def test_recorded_transcripts_parse_cleanly(name: str) -> None:
    data = (TRANSCRIPTS / f"{name}.ami").read_bytes()
    parser = AmiParser()
    out = parser.feed(data)
    assert parser.malformed_lines == 0 and parser.oversized_frames == 0
    assert sum(1 for m in out if isinstance(m, AmiMessage) and m.kind == "event") >= 4


def test_a_repeated_key_reads_as_its_first_value_and_all_of_them() -> None:
    [msg] = AmiParser().feed(b"Event: X\r\nVariable: a=1\r\nvariable: b=2\r\n\r\n")
    assert isinstance(msg, AmiMessage)
    assert msg.get("Variable") == "a=1" and msg.get_all("variable") == ["a=1", "b=2"]


WANTED = frozenset({"AgentCalled", "Hangup"})
first_lines = st.one_of(st.sampled_from(["Event: AgentCalled", "Event: Hangup", "Event: Newstate",
                                         "Event: DialBegin", "Response: Success", "Event:Newstate",
                                         "Event: hangup", "Event: AgentCalled "]),
                        st.tuples(keys, values).map(lambda kv: f"{kv[0]}: {kv[1]}"))
action_ids = st.sampled_from(["", "ActionID: 7", "actionid: 8", "ACTIONID: 9"])


@given(st.lists(st.tuples(first_lines, action_ids, st.lists(st.tuples(keys, values), max_size=4)), max_size=8),
       st.integers(1, 64))
@settings(max_examples=300, deadline=None)
def test_unwanted_events_are_skipped_and_nothing_else(frames, chunk) -> None:  # type: ignore[no-untyped-def]
    """With `wanted`, the parser gives exactly what the full reading gives, less the events
    whose name is not wanted and that answer no action (no ActionID, in any case)."""
    wire = b"".join(("\r\n".join([first, *([aid] if aid else []), *(f"{k}: {v}" for k, v in rest)])
                     + "\r\n\r\n").encode() for first, aid, rest in frames)
    full, skipping = AmiParser(), AmiParser(wanted=WANTED)
    full._greeted = skipping._greeted = True
    everything = [m for m in full.feed(wire) if isinstance(m, AmiMessage)]
    got: list[AmiMessage] = []
    for i in range(0, len(wire), chunk):
        got += [m for m in skipping.feed(wire[i:i + chunk]) if isinstance(m, AmiMessage)]
    skipped = [first.startswith("Event: ") and first[7:] not in WANTED and not aid
               and all(k.lower() != "actionid" for k, _ in rest) for first, aid, rest in frames]
    assert len(everything) == len(frames)
    assert [m.fields for m in got] == [m.fields for m, skip in zip(everything, skipped, strict=True) if not skip]
    assert skipping.skipped_frames == sum(skipped)
    assert skipping.malformed_lines <= full.malformed_lines


def test_a_recorded_call_keeps_every_event_the_bridge_reads() -> None:
    from cti.translate import EVENTS
    raw = (TRANSCRIPTS / "answered.ami").read_bytes()
    full, skipping = AmiParser(), AmiParser(wanted=EVENTS)
    for parser in (full, skipping):  # as Asterisk greets: a line of its own, before any frame
        assert isinstance(parser.feed(b"Asterisk Call Manager/9.0.0\r\n")[0], Greeting)
    everything = [m for m in full.feed(raw) if isinstance(m, AmiMessage)]
    got = [m for m in skipping.feed(raw) if isinstance(m, AmiMessage)]
    assert [m.fields for m in got] == [m.fields for m in everything if m.kind != "event" or m.name in EVENTS]
    assert {m.name for m in got} >= {"QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete", "Hangup"}
    assert skipping.skipped_frames == len(everything) - len(got) > len(got)  # most of a call's frames
