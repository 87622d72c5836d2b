"""Ticket versions: every change raises the version in the UPDATE that checks it, so of
two editors who read one version exactly one wins (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.db_fixture import Sessions
from tests.factories import add_contact
from tickets.desk import Conflict, DeskError, TicketDesk
from tickets.sla import SlaPolicy

POLICY = SlaPolicy.from_hours(4, 8, 24, 72, "mon-fri 07:00-17:00", "Europe/Berlin")


@pytest.fixture
def desk(sessions: Sessions) -> TicketDesk:
    return TicketDesk(sessions, POLICY)


def test_a_new_ticket_is_version_1_and_each_change_raises_it_by_one(desk: TicketDesk, sessions: Sessions) -> None:
    t = desk.create("VPN", "anna")
    assert t["version"] == 1
    assert desk.update(t["id"], {"category": "network"}, "anna")["version"] == 2
    assert desk.update(t["id"], {"category": "network"}, "anna")["version"] == 2  # nothing changed
    assert desk.update(t["id"], {"team": "net"}, "anna", expected_version=2)["version"] == 3
    assert desk.escalate(t["id"], 2, "network team", "anna")["version"] == 4
    contact = add_contact(sessions, "Erika Muster", "+4934125385555")
    assert desk.update(t["id"], {"contact_id": contact}, "anna")["version"] == 5
    assert desk.ticket(t["id"])["version"] == 5  # type: ignore[index]


def test_a_stale_version_is_a_conflict_and_changes_nothing(desk: TicketDesk) -> None:
    t = desk.create("VPN", "anna")
    desk.update(t["id"], {"subject": "VPN down"}, "bert")
    with pytest.raises(Conflict) as caught:
        desk.update(t["id"], {"subject": "mine"}, "anna", expected_version=1)
    assert caught.value.ticket["version"] == 2 and caught.value.ticket["subject"] == "VPN down"
    with pytest.raises(DeskError):  # a bad value with the right version: nothing changes either
        desk.update(t["id"], {"status": "nope"}, "anna", expected_version=2)
    now = desk.ticket(t["id"])
    assert now is not None and (now["subject"], now["version"]) == ("VPN down", 2)
    assert [h["field"] for h in desk.history(t["id"])] == ["created", "subject"]


def test_concurrent_edits_of_one_version_exactly_one_wins(desk: TicketDesk) -> None:
    t = desk.create("VPN", "anna")
    editors = 6
    start = threading.Barrier(editors)
    results: list[Any] = []

    def edit(n: int) -> None:
        start.wait()
        try:
            results.append(desk.update(t["id"], {"description": f"editor {n}"}, f"user{n}", expected_version=1))
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(editors)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1 and len(results) == editors
    assert all(isinstance(r, Conflict) for r in results if r is not won[0])
    final = desk.ticket(t["id"])
    assert final is not None and final["version"] == 2 and final["description"] == won[0]["description"]
    assert len([h for h in desk.history(t["id"]) if h["field"] == "description"]) == 1


def test_concurrent_edits_without_a_version_all_apply(desk: TicketDesk) -> None:
    """Without If-Match an edit behaves as before: none is refused, each raises the version."""
    t = desk.create("VPN", "anna")
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def edit(n: int) -> None:
        start.wait()
        try:
            desk.update(t["id"], {"category": f"c{n}"}, f"user{n}")
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    final = desk.ticket(t["id"])
    assert final is not None and final["version"] == 5
