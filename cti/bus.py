"""In-process publish/subscribe bus for domain events.

Layer: infrastructure, no I/O of its own. Must not import from the rest of the project.

`subscribe(EventType, handler) -> unsubscribe`, as Home Assistant's bus: one
failing listener is logged and never breaks the others. Handlers may be plain
functions or coroutine functions; coroutine handlers are awaited in order by
`publish` (so a slow handler must hand work to its own queue, as the WebSocket
hub and the ticket writer do). Subscribing to `object` receives every event.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[None] | None]


class EventBus:
    def __init__(self) -> None:
        self._subs: dict[type, list[Handler]] = {}
        self.published = 0
        self.handler_errors = 0

    def subscribe(self, event_type: type, handler: Handler) -> Callable[[], None]:
        self._subs.setdefault(event_type, []).append(handler)

        def unsubscribe() -> None:
            handlers = self._subs.get(event_type, [])
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    async def publish(self, event: object) -> None:
        self.published += 1
        for handler in (*self._subs.get(type(event), ()), *self._subs.get(object, ())):
            try:
                result = handler(event)
                if result is not None and inspect.isawaitable(result):  # most handlers are plain: skip the check
                    await result
            except Exception:
                self.handler_errors += 1
                log.exception("event handler %r failed on %s", handler, type(event).__name__)
