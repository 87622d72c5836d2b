"""Hypothesis against translate + registry: any event the bridge uses, with hostile
field values (HTML, NUL, lone surrogates, 10 kB strings, numbers that are not
numbers), never raises and never grows the registry without bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti import events as ev
from cti.protocol import AmiMessage
from cti.tracker import CallTracker
from cti.translate import _TABLE

FIELDS = ["Linkedid", "Uniqueid", "CallbackId", "DialStatus",
          "Channel", "Queue", "CallerIDNum", "CallerIDName", "Position",
          "Interface", "MemberName", "DestUniqueid", "DestChannel", "HoldTime", "TalkTime", "RingTime",
          "Reason", "OriginalPosition", "UserEvent", "QueueStatus", "Extension", "TransfereeLinkedid",
          "TransfererChannel", "Cause", "Paused", "PausedReason", "Status", "InCall", "Wait", "Duration",
          "Application", "BridgeId", "ConnectedLineNum", "Ringinuse", "Wrapuptime"]
HOSTILE = st.one_of(
    st.sampled_from(["", "0", "-1", "99999999999999999999", "1.5", "abc", "<script>alert(1)</script>",
                     "anonymous", "+49 341 2538-5555", "PJSIP/1001", "1700000000.1", "hotline",
                     "HotlineQueueExit", "HotlineCallbackResult", "ANSWER", "TIMEOUT", "1", "true",
                     "00:00:07", "x\x00y", "\ud800", "ü" * 5000]),
    st.text(max_size=40),
    st.text(min_size=10_000, max_size=10_001, alphabet="a<>&\"'"),
)
LINKEDIDS = st.sampled_from(["1700000000.1", "1700000000.2", "1700000000.3"])


@st.composite
def messages(draw: st.DrawFn) -> AmiMessage:
    event = draw(st.sampled_from(sorted(_TABLE)))
    fields = [("Event", event), ("Linkedid", draw(LINKEDIDS)), ("Uniqueid", draw(LINKEDIDS))]
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=12)):
        fields.append((key, draw(HOSTILE)))
    return AmiMessage(tuple(fields))


@given(st.lists(messages(), min_size=1, max_size=40))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hostile_events_never_crash_translate_or_registry(msgs: list[AmiMessage]) -> None:
    tracker = CallTracker()
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    for i, msg in enumerate(msgs):
        for update in tracker.feed_message(msg, now + timedelta(seconds=i)):
            assert isinstance(update, ev.CallUpdated | ev.AgentUpdated)
            if isinstance(update, ev.CallUpdated):
                call = update.call
                # a number that came with markup or control characters is never a phone number
                assert call.caller_number is None or call.caller_number.lstrip("+").isdigit()
    assert len(tracker.registry.calls()) <= 3  # only the three Linkedids used: nothing invented
