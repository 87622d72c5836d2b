"""The scale-out package's parts without Redis: PeerShare's echo suppression (one
instance's ticket edit goes out once and a peer's is never sent back) and the one
`health()` every bus link answers /healthz and /metrics with."""

from __future__ import annotations

from datetime import UTC, datetime

from agent_console.scaleout import codec
from agent_console.scaleout.peers import PeerShare
from cti.bus import EventBus
from tickets.events import TicketUpdated

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def edit(ticket_id: int) -> TicketUpdated:
    return TicketUpdated(id=ticket_id, number=f"2026-{ticket_id:06d}", subject="Drucker", description="",
                         status="open", priority="normal", level=1, team="L1", assignee="", category="",
                         channel="phone", first_contact_resolution=False, contact_id=None, linkedid=None,
                         due_at=None, overdue=False, created_at=AT, updated_at=AT)


async def test_peer_share_sends_its_own_edits_and_never_echoes_a_peers() -> None:
    bus = EventBus()
    sent: list[tuple[str, codec.PeerEvent]] = []
    seen: list[TicketUpdated] = []
    share = PeerShare("me", "hotline:hotline:peers", lambda channel, message: sent.append((channel, message)))
    share.subscribe(bus)
    bus.subscribe(TicketUpdated, seen.append)
    mine, theirs = edit(1), edit(2)
    await bus.publish(mine)  # an edit made through this instance's API
    assert sent == [("hotline:hotline:peers", codec.PeerEvent("me", mine))]
    await share.receive(codec.PeerEvent("other", theirs))  # another instance's edit
    assert seen == [mine, theirs] and share.received == 1
    assert len(sent) == 1  # delivered on our bus, not sent back out (it would echo for ever)
    await share.receive(codec.PeerEvent("me", mine))  # Redis hands us our own back
    await share.receive(codec.BridgeAnnouncement("other"))  # not a shared event
    assert seen == [mine, theirs] and share.received == 1
    await bus.publish(theirs)  # once delivered, the same object published here is ours to share
    assert sent[1:] == [("hotline:hotline:peers", codec.PeerEvent("me", theirs))]


async def test_peer_share_publishes_nothing_before_it_is_subscribed() -> None:
    sent: list[object] = []
    share = PeerShare("me", "p", lambda channel, message: sent.append(message))
    await share.receive(codec.PeerEvent("other", edit(3)))
    assert share.received == 0 and sent == []
