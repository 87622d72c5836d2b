"""Who calls, as the console, the wallboard and the lists show it: the normalised number
for matching and dialling, and `display`, grouped as people read it back; a wallboard
that masks numbers masks that too."""

from __future__ import annotations

from datetime import UTC, datetime

from callqueue.live import QueueProjection

from agent_console import views
from cti import events as ev
from tests.factories import call_snapshot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_caller_has_the_number_as_people_read_it() -> None:
    assert views.caller_json("+4934125385555", "0341 2538-5555", "Erika") == {
        "number": "+4934125385555", "raw": "0341 2538-5555", "name": "Erika", "display": "+49 341 25385555"}
    assert views.caller_json(None, "anonymous", "")["display"] is None  # withheld: nothing to show


def test_a_masked_wallboard_shows_no_readable_number_either() -> None:
    p = QueueProjection(threshold=25)
    p.apply(ev.CallUpdated(T0, ev.CallChange.JOINED, call_snapshot(
        "a", caller_raw="0341 2538-5555", caller_number="+4934125385555", entered_at=T0)), T0)
    shown = views.queue_json(p.view("hotline", T0), T0)["waiting"][0]["caller"]
    masked = views.queue_json(p.view("hotline", T0), T0, mask=True)["waiting"][0]["caller"]
    assert shown["display"] == "+49 341 25385555"
    assert masked["display"] is None and "25385555" not in str(masked)
