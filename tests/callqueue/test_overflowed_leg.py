"""The entry leg of a call another site took (issue 15, tickets.call_join): once the
overflow is known it is no longer waiting in this site's queue (its channel stays up,
carrying the media, until the call ends), and when it ends it is not offered, answered
or abandoned here: the answering site's queue counts the call once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callqueue.live import QueueProjection
from callqueue.metrics import FinishedCall, figures

from cti import events as ev
from cti.calls import CallRegistry

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_an_overflowed_leg_stops_waiting_and_is_not_counted() -> None:
    registry, p = CallRegistry(), QueueProjection(threshold=25, short_abandon=5)
    events: list[ev.DomainEvent] = [
        ev.CallerJoinedQueue(T0, "1.1", "1.1", "PJSIP/trunk-1", "hotline", "+4934125380001", "Ada", 1),
        ev.CallAbandoned(T0 + timedelta(seconds=10), "1.1", "hotline", 1, 1, 10),  # Queue() timed out to go on
        ev.CallOverflowed(T0 + timedelta(seconds=11), "1.1", "b", "hotline"),
    ]
    for e in events:
        for u in registry.apply(e, T0):
            if isinstance(u, ev.CallUpdated):
                p.apply(u, T0)
    assert p.view("hotline", T0 + timedelta(seconds=60)).waiting == ()  # at b now, not waiting here
    for u in registry.apply(ev.CallEnded(T0 + timedelta(seconds=90), "1.1", 16), T0):
        if isinstance(u, ev.CallUpdated):
            assert u.call.outcome == ev.Outcome.OVERFLOWED
            p.apply(u, T0)
    today = p.today("hotline")
    assert (today.offered, today.answered, today.abandoned) == (0, 0, 0)
    f = figures([FinishedCall("overflowed", 10.0), FinishedCall("answered", 14.0)], 25, 5)
    assert (f.offered, f.answered, f.abandoned) == (1, 1, 0)
