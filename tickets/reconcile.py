"""Calls in Asterisk's queue_log that have no finished call record yet.

Layer: service (sync: file and database reads, run off the event loop). Must
not import agent_console. The updates for those calls go through the same
DbWriter and TicketService as live ones, so a call gets its record and ticket
exactly once however it arrives; the async shell that runs this after a
(re)connect is agent_console.jobs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cti import queue_log
from cti.events import CallbackDialed, CallUpdated
from cti.queue_log import LoggedCall
from tickets.models import CallRecord
from tickets.sites import DEFAULT_SITE

QUEUE_LOG_TAIL = 32 * 1024 * 1024  # bytes read at the first look: the last day or so of a busy desk
HEAD = 64  # bytes compared to notice a file rewritten in place


class QueueLogTail:
    """Reads what queue_log gained since the last read: the first read starts
    `first` bytes before the end (a partial first line is dropped), later reads
    where the previous one stopped. Only complete lines are handed on; the rest
    waits for the next read. A rotated or truncated file (another inode, shorter
    than where we were, or other first bytes: logrotate's copytruncate) is read
    from its start; the calls still open carry over (their end is then in the new file)."""

    def __init__(self, path: Path, first: int = QUEUE_LOG_TAIL) -> None:
        self.path, self.first = path, first
        self.reader = queue_log.QueueLogReader()
        self._inode: tuple[int, int] | None = None
        self._offset = 0
        self._partial = b""
        self._head = b""  # the file's first bytes when we last read it

    def read(self, members: Mapping[str, str]) -> list[LoggedCall]:
        """The calls that finished in what was appended since the last read."""
        with self.path.open("rb") as fh:
            stat = os.fstat(fh.fileno())
            inode, size = (stat.st_dev, stat.st_ino), stat.st_size
            skip_first = False
            if self._inode is None:
                self._offset, skip_first = max(0, size - self.first), size > self.first
            elif inode != self._inode or size < self._offset or fh.read(len(self._head)) != self._head:
                self._offset, self._partial = 0, b""
            self._inode = inode
            fh.seek(0)
            self._head = fh.read(HEAD)
            fh.seek(self._offset)
            data = self._partial + fh.read()
            self._offset = fh.tell()
        complete, _, self._partial = data.rpartition(b"\n")
        lines = complete.decode("utf-8", errors="replace").splitlines()
        return self.reader.feed(lines[1:] if skip_first else lines, members)


def unrecorded(sessions: sessionmaker[Session], calls: Sequence[LoggedCall],
               site: str = DEFAULT_SITE) -> list[LoggedCall]:
    """The calls whose record at `site` is missing or not finalized (no outcome): another
    site's record of the same Linkedid text is another call and counts for nothing here."""
    done: set[str] = set()
    ids = [c.linkedid for c in calls]
    with sessions() as s:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            done.update(s.scalars(select(CallRecord.linkedid).where(
                CallRecord.site == site, CallRecord.linkedid.in_(chunk), CallRecord.outcome.is_not(None))))
    return [c for c in calls if c.linkedid not in done]


class Reconciler:
    """Follows `path` (Asterisk's queue_log) and says which calls of the last `hours`
    ended without a finished record, as the updates the writer needs. `site` is the
    bridge's own: its queue_log is its Asterisk's, and the writer records at that site."""

    def __init__(self, sessions: sessionmaker[Session], path: Path, hours: float, default_region: str,
                 site: str = DEFAULT_SITE) -> None:
        self.sessions, self.path, self.hours, self.default_region = sessions, path, hours, default_region
        self.site = site
        self.tail = QueueLogTail(path)

    def missing(self, now: datetime, members: Mapping[str, str]) -> list[LoggedCall]:
        """`members`: queue member name -> interface (queue_log names the agent by member name)."""
        since = now - timedelta(hours=self.hours)
        calls = [c for c in self.tail.read(members) if c.ended_at >= since]
        return unrecorded(self.sessions, calls, self.site)

    def callback_results(self) -> list[CallbackDialed]:
        """The callbacks' results (CALLBACKRESULT lines) the reads since the last call found."""
        return self.tail.reader.take_callback_results()

    def updates(self, call: LoggedCall) -> list[CallUpdated]:
        return queue_log.as_updates(call, self.default_region)
