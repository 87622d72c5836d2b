"""queue_log lines as Asterisk 22 writes them -> finished calls with Asterisk's figures."""

from __future__ import annotations

from datetime import UTC, datetime

from cti.events import CallChange, Outcome
from cti.queue_log import QueueLogReader, as_updates, finished_calls

LOG = """\
1795440184|NONE|NONE|NONE|QUEUESTART|
1795440184|CLI|hotline|PJSIP/1001|ADDMEMBER|
1795440186|1795440186.0|hotline|NONE|ENTERQUEUE||0341 2538-5577|1
1795440188|1795440186.0|hotline|PJSIP/1001|CONNECT|2|1795440186.1|2
1795440191|1795440186.0|hotline|PJSIP/1001|COMPLETECALLER|2|3|1
1795440670|1795440669.0|hotline|NONE|ENTERQUEUE||anonymous|1
1795440672|1795440669.0|hotline|PJSIP/1001|RINGCANCELED|2499
1795440672|1795440669.0|hotline|NONE|ABANDON|1|1|2
garbage line without fields
17954406xx|bad.time|hotline|NONE|ENTERQUEUE||x|1
1795440700|1795440700.0|hotline|NONE|ENTERQUEUE||+4930111|2
1795440708|1795440700.0|hotline|NONE|EXITWITHTIMEOUT|2|2|8
1795440800|1795440800.0|hotline|NONE|ENTERQUEUE||+4930222|1
1795440803|1795440800.0|hotline|PJSIP/1002|CONNECT|3|1795440800.1|3
1795440810|1795440800.0|hotline|PJSIP/1002|BLINDTRANSFER|1003|agents|3|7|1
1795440900|1795440900.0|hotline|NONE|ENTERQUEUE||+4930333|1
1795441000|rotated.1|hotline|PJSIP/1001|COMPLETEAGENT|1|2|1
"""


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def test_finished_calls_carry_asterisks_figures() -> None:
    calls = {c.linkedid: c for c in finished_calls(LOG.splitlines())}
    assert list(calls) == ["1795440186.0", "1795440669.0", "1795440700.0", "1795440800.0"]
    answered = calls["1795440186.0"]
    assert (answered.outcome, answered.agent, answered.wait_seconds, answered.talk_seconds) == (
        Outcome.ANSWERED, "PJSIP/1001", 2, 3)
    assert answered.entered_at == at(1795440186) and answered.answered_at == at(1795440188)
    assert answered.ended_at == at(1795440191) and answered.caller_raw == "0341 2538-5577"
    gone = calls["1795440669.0"]
    assert (gone.outcome, gone.wait_seconds, gone.answered_at, gone.agent) == (Outcome.ABANDONED, 2, None, None)
    assert calls["1795440700.0"].outcome == Outcome.TIMEOUT and calls["1795440700.0"].wait_seconds == 8
    moved = calls["1795440800.0"]
    assert (moved.outcome, moved.wait_seconds, moved.talk_seconds) == (Outcome.TRANSFERRED, 3, 7)
    # still waiting (no final line) and a final line without ENTERQUEUE (rotated log): not finished calls
    assert "1795440900.0" not in calls and "rotated.1" not in calls


def test_updates_are_what_the_bridge_would_have_published() -> None:
    answered = finished_calls(LOG.splitlines())[0]
    first, last = as_updates(answered)
    assert first.change == CallChange.ANSWERED and first.call.ended_at is None and first.call.outcome is None
    assert last.change == CallChange.ENDED and last.call.outcome == Outcome.ANSWERED
    assert last.call.caller_number == "+4934125385577" and last.call.duration_seconds == 5
    abandoned = finished_calls(LOG.splitlines())[1]
    assert [u.change for u in as_updates(abandoned)] == [CallChange.ENDED]
    assert as_updates(abandoned)[0].call.caller_number is None  # withheld


def test_a_reader_fed_in_pieces_finds_what_one_read_finds_and_remembers_open_calls() -> None:
    lines = LOG.splitlines()
    whole = finished_calls(lines)
    reader = QueueLogReader()
    pieces = [reader.feed(lines[i:i + 3]) for i in range(0, len(lines), 3)]
    assert [c for piece in pieces for c in piece] == whole
    assert reader.open_calls == 1  # +4930333 entered and never finished


def test_a_reader_forgets_the_oldest_open_calls_first() -> None:
    reader = QueueLogReader(max_open=2)
    reader.feed([f"17954401{n:02d}|c.{n}|hotline|NONE|ENTERQUEUE||+4930{n}|1" for n in range(3)])
    assert reader.open_calls == 2
    done = reader.feed(["1795440200|c.0|hotline|NONE|ABANDON|1|1|9", "1795440200|c.2|hotline|NONE|ABANDON|1|1|9"])
    assert [c.linkedid for c in done] == ["c.2"]


def test_callback_results_are_collected_once_and_calls_are_not_disturbed() -> None:
    reader = QueueLogReader()
    lines = [
        "1764669600|1764669600.1|hotline|NONE|ENTERQUEUE||+4930123|1",
        "1764669605|1764669605.7|hotline|NONE|CALLBACKRESULT|42|NOANSWER",
        "1764669610|1764669600.1|hotline|NONE|ABANDON|1|1|10",
        "1764669700|1764669700.9|hotline|NONE|CALLBACKRESULT|42|ANSWER",
        "1764669701|1764669701.9|hotline|NONE|CALLBACKRESULT|x|ANSWER",  # no id: skipped
        "1764669702|1764669702.9|hotline|NONE|CALLBACKRESULT",  # truncated: skipped
    ]
    calls = reader.feed(lines)
    assert [(c.linkedid, c.outcome) for c in calls] == [("1764669600.1", Outcome.ABANDONED)]
    assert [(r.callback_id, r.dial_status, r.at) for r in reader.take_callback_results()] == [
        (42, "NOANSWER", datetime.fromtimestamp(1764669605, UTC)),
        (42, "ANSWER", datetime.fromtimestamp(1764669700, UTC))]
    assert reader.take_callback_results() == []  # taken: gone
    assert finished_calls(lines) == calls  # the history import reads past them


def test_untaken_callback_results_stay_bounded() -> None:
    reader = QueueLogReader(max_open=3)
    reader.feed([f"17646696{n:02d}|x.{n}|hotline|NONE|CALLBACKRESULT|{n + 1}|BUSY" for n in range(10)])
    assert [r.callback_id for r in reader.take_callback_results()] == [8, 9, 10]


def test_the_origin_another_site_passed_as_queues_url_comes_with_the_call() -> None:
    lines = [
        "1795440186|1795440186.0|hotline|NONE|ENTERQUEUE|a:1795440180.4|+4934125385577|1",
        "1795440188|1795440186.0|hotline|Anna|CONNECT|2|1795440186.1|2",
        "1795440191|1795440186.0|hotline|Anna|COMPLETECALLER|2|3|1",
        # caller-influenced in theory: anything but `<site>:<linkedid>` is no origin
        "1795440200|1795440200.0|hotline|NONE|ENTERQUEUE|A:1.2\r|+4930111|1",
        "1795440201|1795440200.0|hotline|NONE|ABANDON|1|1|1",
    ]
    taken, local = finished_calls(lines, {"Anna": "PJSIP/1001"})
    assert (taken.origin, taken.agent, taken.outcome) == (("a", "1795440180.4"), "PJSIP/1001", Outcome.ANSWERED)
    assert local.origin is None
    assert {u.change: u.call.origin for u in as_updates(taken)} == {
        CallChange.ANSWERED: ("a", "1795440180.4"), CallChange.ENDED: ("a", "1795440180.4")}
    assert finished_calls(LOG.splitlines())[0].origin is None  # an empty url: a call of this site's
