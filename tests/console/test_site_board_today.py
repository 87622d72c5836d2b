"""agent_console.site_board.SiteBoard: today's figures are counted again only when the
calls changed (FinishedToday hands back the same mapping while nothing was written)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from callqueue.live import QueueProjection
from callqueue.metrics import FinishedCall

from agent_console import site_board
from agent_console.hub import Hub
from agent_console.site_board import Followed, SiteBoard, projected

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def test_the_same_calls_are_not_counted_twice_new_ones_are(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[Any] = []
    real = site_board.day_figures

    def counting(today: Any, *args: Any) -> Any:
        counted.append(today)
        return real(today, *args)

    monkeypatch.setattr(site_board, "day_figures", counting)
    calls = {"main": [FinishedCall("answered", 10, 60, True)]}
    reads = [calls, calls]
    own = Followed("main", projected(QueueProjection(queues={"hotline"}), "hotline"), lambda mono: (True, True, True))
    board = SiteBoard(Hub(), lambda: NOW, own, lambda start: reads.pop(0), lambda: NOW)
    first = board._count_today(NOW)
    assert board._count_today(NOW) is first and counted == [calls]  # nothing written: the same figures
    reads.append({"main": [*calls["main"], FinishedCall("abandoned", 30, 0, False)]})
    again = board._count_today(NOW)
    assert len(counted) == 2 and (first.total.offered, again.total.offered) == (1, 2)
