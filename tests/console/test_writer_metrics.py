"""/metrics tells a supervisor when the writer had to write again, and when its process
died and was started again (tickets.worker_process)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def test_metrics_count_the_writers_retries_and_restarts(app: Any, login: Any) -> None:
    sven = login("sven")
    metrics = sven.get("/metrics").text
    assert "hotline_db_write_retries_total 0.0" in metrics and "hotline_writer_restarts_total 0.0" in metrics
    writer = app.state.services.writer
    writer.retries, thread_pool = 3, writer._pool
    writer._pool = SimpleNamespace(respawns=1)  # as a Respawning pool whose process died once
    try:
        metrics = sven.get("/metrics").text
    finally:
        writer._pool = thread_pool
    assert "hotline_db_write_retries_total 3.0" in metrics and "hotline_writer_restarts_total 1.0" in metrics
    assert login("anna").get("/metrics").status_code == 403  # supervisors only
