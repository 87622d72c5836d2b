"""The callback's events: the dialplan's HotlineCallbackResult, translated; the
callback Originate, validated (agent first, the caller's own E.164 number)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti import events as ev
from cti.actions import callback_originate
from cti.dial_allow import DialAllowList, DialRefused
from cti.protocol import AmiMessage
from cti.translate import translate

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GERMANY = DialAllowList.parse("10XX,5555,+49.")


def _user_event(**fields: str) -> AmiMessage:
    return AmiMessage((("Event", "UserEvent"), ("UserEvent", "HotlineCallbackResult"), *fields.items()))


def test_callback_result_is_translated_and_garbage_is_dropped() -> None:
    assert translate(_user_event(CallbackId="7", DialStatus="ANSWER"), AT) == [
        ev.CallbackDialed(AT, 7, "ANSWER")]
    assert translate(_user_event(CallbackId="7", DialStatus="NOANSWER" * 10), AT)[0] == ev.CallbackDialed(
        AT, 7, ("NOANSWER" * 10)[:20])
    assert translate(_user_event(CallbackId="", DialStatus="ANSWER"), AT) == []
    assert translate(_user_event(CallbackId="x1", DialStatus="ANSWER"), AT) == []


def test_callback_originate_rings_the_agent_first_and_dials_only_an_e164_number() -> None:
    action = callback_originate("PJSIP/1001", "+493415550123", 7, GERMANY)
    assert (action.name, action.idempotent) == ("Originate", False)
    assert action.fields["Channel"] == "PJSIP/1001" and action.fields["Context"] == "hotline-callback"
    assert action.fields["Variable"] == "__HOTLINE_CALLBACK_ID=7,HOTLINE_CALLBACK_NUMBER=+493415550123"
    for number in ("03415550123", "+49341,x=1", "+49 341 555", "+4934155501231234567890"):
        with pytest.raises(ValueError):
            callback_originate("PJSIP/1001", number, 7, GERMANY)
    with pytest.raises(ValueError):
        callback_originate("PJSIP/1001\r\nAction: Hangup", "+493415550123", 7, GERMANY)
    with pytest.raises(ValueError):
        callback_originate("PJSIP/1001", "+493415550123", 0, GERMANY)


def test_callback_originate_honours_the_dial_allow_list() -> None:
    """The caller's own number is dialled like any other: only what the allow-list reaches."""
    with pytest.raises(DialRefused, match="not on this hotline's dial allow-list"):
        callback_originate("PJSIP/1001", "+447700900123", 7, GERMANY)  # abroad: not listed
    with pytest.raises(DialRefused):
        callback_originate("PJSIP/1001", "+493415550123", 7, DialAllowList.parse("10XX,5555"))  # the default
    assert GERMANY.refusal("+493415550123") is None
    reason = GERMANY.refusal("+447700900123")
    assert reason == "not on this hotline's dial allow-list (allowed: 10XX, 5555, +49.)"
    assert "7700900123" not in reason  # the reason can be logged: no caller number in it
