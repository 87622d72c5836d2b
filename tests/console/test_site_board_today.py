"""agent_console.site_board.SiteBoard: today's figures are read off the loop from
`today_figures` (tickets.reports.FinishedToday counts only what was written since its
last read), and a read that fails keeps the last figures on the board."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from callqueue.live import QueueProjection
from callqueue.metrics import FinishedCall
from callqueue.sites import DayFigures, day_figures

from agent_console.hub import Hub
from agent_console.site_board import Followed, SiteBoard, projected

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


async def test_the_board_shows_todays_figures_and_keeps_them_when_a_read_fails(
        caplog: pytest.LogCaptureFixture) -> None:
    one = day_figures({"main": [FinishedCall("answered", 10, 60, True)]})
    reads: list[DayFigures | Exception] = [one, OSError("database gone")]

    def today_figures(start: datetime) -> DayFigures:
        assert start == NOW
        got = reads.pop(0)
        if isinstance(got, Exception):
            raise got
        return got

    own = Followed("main", projected(QueueProjection(queues={"hotline"}), "hotline"), lambda mono: (True, True, True))
    board = SiteBoard(Hub(), lambda: NOW, own, today_figures, lambda: NOW)
    await board.refresh_today()
    assert board.compute().total.today.answered == 1
    await board.refresh_today()  # the database is down
    assert board.today is one and board.compute().total.today.answered == 1 and not reads
    assert "showing the last ones" in caplog.text
