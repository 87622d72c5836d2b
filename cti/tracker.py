"""CallTracker: AMI bytes in, registry updates out — protocol -> translate -> registry
in one sans-IO object, for replaying recorded transcripts in tests and benchmarks
(shipped, as panoramisk ships `testing.py`, so both use the same loop).

Layer: domain, sans-IO. No sockets, no asyncio, never reads the clock (the caller
passes `now`). Must not import from the rest of the project.

The bridge (cti.bridge) runs the same steps around a connection and also publishes
every domain event and answers resyncs; this is the offline part only.
"""

from __future__ import annotations

from datetime import datetime

from cti.calls import CallRegistry, Update
from cti.protocol import DEFAULT_MAX_FRAME, AmiMessage, AmiParser
from cti.translate import Message, translate


class CallTracker:
    """Feed AMI bytes in any chunking; get the registry's updates.

    Pass a `registry` to share one between trackers (e.g. a second replay of the
    same transcript through a fresh parser)."""

    def __init__(self, registry: CallRegistry | None = None, *, default_region: str = "DE",
                 max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.parser = AmiParser(max_frame)
        self.registry = registry if registry is not None else CallRegistry(default_region)
        self.events = 0  # AMI events parsed (responses and greetings not counted)

    def feed(self, data: bytes, now: datetime) -> list[Update]:
        """Parse `data` and apply every whole message; a partial frame waits for more."""
        out: list[Update] = []
        for msg in self.parser.feed(data):
            if isinstance(msg, AmiMessage):
                self.events += msg.kind == "event"
                out.extend(self.feed_message(msg, now))
        return out

    def feed_message(self, msg: Message, now: datetime) -> list[Update]:
        """One already-parsed AMI message through translate and the registry."""
        out: list[Update] = []
        for event in translate(msg, now):
            out.extend(self.registry.apply(event, now))
        return out
