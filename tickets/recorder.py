"""CallRecorder: the one subscriber that hands calls to the ticket writer.

Layer: I/O shell (bus in, DbWriter out). Must not import agent_console. Only
the updates `calls_service.recorded` names go to the writer (an answered call
makes its ticket, an ended one finishes its record); the writer runs them
through TicketService in order, off the event loop.
"""

from __future__ import annotations

from cti import events as ev
from cti.bus import EventBus
from tickets.calls_service import recorded
from tickets.writer import DbWriter


class CallRecorder:
    def __init__(self, writer: DbWriter) -> None:
        self.writer = writer

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ev.CallUpdated, self._on_update)

    def _on_update(self, update: ev.CallUpdated) -> None:
        if recorded(update):
            self.writer.submit(update)
