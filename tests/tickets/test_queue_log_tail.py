"""QueueLogTail reads only what queue_log gained since the last read: complete
lines only, a call split across reads still found, rotation and truncation
followed, the first look limited to the file's end."""

from __future__ import annotations

from pathlib import Path

from tickets.reconcile import QueueLogTail

ENTER = "1795440186|{id}|hotline|NONE|ENTERQUEUE||0341 2538-5577|1\n"
CONNECT = "1795440188|{id}|hotline|PJSIP/1001|CONNECT|2|{id}1|2\n"
DONE = "1795440191|{id}|hotline|PJSIP/1001|COMPLETECALLER|2|3|1\n"


def test_each_read_returns_only_calls_finished_in_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_text(ENTER.format(id="a") + CONNECT.format(id="a") + DONE.format(id="a") + ENTER.format(id="b"))
    tail = QueueLogTail(log)
    assert [c.linkedid for c in tail.read({})] == ["a"]
    assert tail.read({}) == []  # nothing new
    with log.open("a") as fh:
        fh.write(CONNECT.format(id="b") + DONE.format(id="b")[:20])  # the last line is still being written
    assert tail.read({}) == []
    with log.open("a") as fh:
        fh.write(DONE.format(id="b")[20:])
    done = tail.read({"PJSIP/1001": "PJSIP/1001"})
    assert [c.linkedid for c in done] == ["b"] and done[0].talk_seconds == 3


def test_rotation_and_truncation_are_read_from_the_start(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_text(ENTER.format(id="a") + CONNECT.format(id="a"))
    tail = QueueLogTail(log)
    assert tail.read({}) == []
    log.rename(tmp_path / "queue_log.1")  # logrotate: a new file
    log.write_text(DONE.format(id="a"))
    assert [c.linkedid for c in tail.read({})] == ["a"]  # its start was in the old file
    log.write_text(ENTER.format(id="c") + DONE.format(id="c"))  # truncated and rewritten in place
    assert [c.linkedid for c in tail.read({})] == ["c"]


def test_the_first_look_reads_only_the_files_end(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    old = "".join(ENTER.format(id=f"old{n}") + DONE.format(id=f"old{n}") for n in range(50))
    log.write_text(old + ENTER.format(id="new") + DONE.format(id="new"))
    tail = QueueLogTail(log, first=len(ENTER.format(id="new") + DONE.format(id="new")) + 10)
    assert [c.linkedid for c in tail.read({})] == ["new"]
