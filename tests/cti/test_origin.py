"""HOTLINE_ORIGIN (an overflowed call's `<site>:<linkedid>`) in the sans-IO translation.

Frames as Asterisk 22 writes them (`ChanVariable: NAME=value`, one line per
manager.conf channelvar; the second channel of an event with the `Dest` prefix).
The value crossed a SIP trunk: anything but the exact shape is None, never an error.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti import events as ev
from cti.calls import CallRegistry
from cti.origin import origin_from_chanvars, parse_origin
from cti.protocol import AmiMessage, AmiParser
from cti.translate import translate

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

JOIN = (
    b"Event: QueueCallerJoin\r\nPrivilege: agent,all\r\nChannel: PJSIP/site-a-00000003\r\n"
    b"ChannelState: 6\r\nChannelStateDesc: Up\r\nCallerIDNum: +4934125380001\r\n"
    b"CallerIDName: Overflow Test\r\nLanguage: en\r\nAccountCode: \r\nContext: hotline-5555\r\n"
    b"Exten: 5555\r\nPriority: 31\r\nUniqueid: 1764583200.7\r\nLinkedid: 1764583200.7\r\n"
    b"ChanVariable: HOTLINE_ORIGIN=a:1764583199.3\r\nQueue: hotline\r\nPosition: 1\r\nCount: 1\r\n\r\n"
)


def _messages(raw: bytes) -> list[AmiMessage]:
    return [m for m in AmiParser().feed(raw) if isinstance(m, AmiMessage)]


def _join(origin_line: bytes) -> ev.CallerJoinedQueue:
    raw = JOIN.replace(b"ChanVariable: HOTLINE_ORIGIN=a:1764583199.3\r\n", origin_line)
    (message,) = _messages(raw)
    (event,) = translate(message, AT)
    assert isinstance(event, ev.CallerJoinedQueue)
    return event


def test_a_recorded_join_carries_its_origin() -> None:
    assert _join(b"ChanVariable: HOTLINE_ORIGIN=a:1764583199.3\r\n").origin == ("a", "1764583199.3")


def test_no_origin_when_the_variable_is_empty_or_absent() -> None:
    assert _join(b"ChanVariable: HOTLINE_ORIGIN=\r\n").origin is None  # a call into this site
    assert _join(b"").origin is None  # an Asterisk without the channelvars line


def test_origin_among_other_channel_variables() -> None:
    line = b"ChanVariable: CDR_TAG=x\r\nChanVariable: HOTLINE_ORIGIN=main:1764583199.3\r\n"
    assert _join(line).origin == ("main", "1764583199.3")


@pytest.mark.parametrize(
    "value",
    [
        "a:1764583199.3\r\nX-Evil: 1",
        "a:1764583199.3\n",
        "A:1764583199.3",
        "a b:1.2",
        "a:1764583199",
        ":1764583199.3",
        "a:",
        "a:1.2.3",
        "a:1764583199.3;x",
        "a_b:1.2",
        "ä:1.2",
        "-a:1.2",
        "a" * 40 + ":1.2",
        "a:" + "1" * 30 + ".2",
        "a:1.2 ",
        " a:1.2",
        "a:1.2\0",
        "a::1.2",
        "",
    ],
)
def test_garbage_is_none_never_an_error(value: str) -> None:
    assert parse_origin(value) is None
    assert origin_from_chanvars([f"HOTLINE_ORIGIN={value}"]) is None


def test_well_formed_values() -> None:
    assert parse_origin("b:1764583199.3") == ("b", "1764583199.3")
    assert parse_origin("site-2:17.0") == ("site-2", "17.0")
    assert origin_from_chanvars(["OTHER=a:1.2"]) is None  # another variable's value is not the origin


def test_a_cr_lf_in_the_frame_cannot_smuggle_an_origin() -> None:
    """A header value with a line break never reaches AMI as one field: whatever line
    follows is its own field, and the origin line itself must be exact."""
    raw = JOIN.replace(b"HOTLINE_ORIGIN=a:1764583199.3", b"HOTLINE_ORIGIN=a:1764583199.3 x")
    (message,) = _messages(raw)
    (event,) = translate(message, AT)
    assert isinstance(event, ev.CallerJoinedQueue) and event.origin is None


def test_core_show_channel_carries_the_origin_for_the_resync() -> None:
    raw = (
        b"Event: CoreShowChannel\r\nChannel: PJSIP/site-a-00000003\r\nUniqueid: 1764583200.7\r\n"
        b"Linkedid: 1764583200.7\r\nCallerIDNum: +4934125380001\r\nApplication: Queue\r\n"
        b"Duration: 00:00:04\r\nBridgeId: \r\nChanVariable: HOTLINE_ORIGIN=c:1764583199.3\r\n\r\n"
    )
    (message,) = _messages(raw)
    (event,) = translate(message, AT)
    assert isinstance(event, ev.ActiveChannelSnapshot) and event.origin == ("c", "1764583199.3")


def test_the_registry_keeps_the_origin_on_the_call() -> None:
    registry = CallRegistry()
    (joined,) = registry.apply(_join(b"ChanVariable: HOTLINE_ORIGIN=a:1764583199.3\r\n"), AT)
    assert isinstance(joined, ev.CallUpdated) and joined.call.origin == ("a", "1764583199.3")
    call = registry.call("1764583200.7")
    assert call is not None and call.origin == ("a", "1764583199.3")
    (ended, *_) = registry.apply(ev.CallEnded(at=AT, linkedid="1764583200.7", cause=16), AT)
    assert isinstance(ended, ev.CallUpdated) and ended.call.origin == ("a", "1764583199.3")


def test_a_call_without_origin_has_none() -> None:
    registry = CallRegistry()
    (joined,) = registry.apply(_join(b"ChanVariable: HOTLINE_ORIGIN=\r\n"), AT)
    assert isinstance(joined, ev.CallUpdated) and joined.call.origin is None


def _overflow(site: str) -> AmiMessage:
    return AmiMessage(
        (
            ("Event", "UserEvent"),
            ("Channel", "PJSIP/site-b-00000004"),
            ("Uniqueid", "1764583201.9"),
            ("Linkedid", "1764583200.7"),
            ("CallerIDNum", "+4934125380001"),
            ("CallerIDName", "Ada"),
            ("UserEvent", "HotlineOverflow"),
            ("Queue", "hotline"),
            ("Site", site),
        )
    )


def test_the_sending_site_learns_which_site_took_the_call() -> None:
    assert translate(_overflow("b"), AT) == [ev.CallOverflowed(
        at=AT, linkedid="1764583200.7", site="b", queue="hotline", caller_raw="+4934125380001", caller_name="Ada")]


@pytest.mark.parametrize("site", ["", "B", "b\r\nX: 1", "b c", "x" * 40])
def test_an_overflow_with_a_bad_site_is_dropped(site: str) -> None:
    assert translate(_overflow(site), AT) == []
