from __future__ import annotations

import pytest

from cti import actions
from cti.dial_allow import DialAllowList
from cti.protocol import encode_action

# numbers these tests dial are on the list: the allow-list itself is tested in tests/security
OPEN = DialAllowList.parse("10XX,+X.,0X.")


def test_pause_with_reason_encodes() -> None:
    a = actions.queue_pause("PJSIP/1001", "hotline", "Mittagspause")
    assert a.fields == {"Interface": "PJSIP/1001", "Queue": "hotline", "Paused": "true",
                        "Reason": "Mittagspause"}
    assert b"Reason: Mittagspause\r\n" in encode_action(a.name, a.fields, "1")


@pytest.mark.parametrize("call", [
    lambda: actions.queue_pause("PJSIP/1001", "hotline", "x\r\nAction: Originate"),
    lambda: actions.queue_pause("PJSIP/1001\r\n", "hotline", "ok"),
    lambda: actions.queue_pause("SIP/1001", "hotline", "ok"),
    lambda: actions.queue_pause("PJSIP/1001", "hot line", "ok"),
    lambda: actions.queue_pause("PJSIP/1001", "hotline", "x" * 65),
    lambda: actions.originate("PJSIP/1001", "0341;Dial(x)", OPEN),
    lambda: actions.originate("PJSIP/1001", "0341\n", OPEN),
    lambda: actions.blind_transfer("PJSIP/1001-0000000a", "1002&PJSIP/9", OPEN),
    lambda: actions.hangup("PJSIP/1001"),
])
def test_invalid_values_never_reach_ami(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"invalid|reason"):
        call()


def test_originate_is_async_from_the_agents_phone_and_not_idempotent() -> None:
    a = actions.originate("PJSIP/1001", "+49 341 2538-5555", OPEN)
    assert a.fields["Channel"] == "PJSIP/1001" and a.fields["Exten"] == "+4934125385555"
    assert a.fields["Async"] == "true" and not a.idempotent
