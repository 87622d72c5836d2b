"""`hotline up --sites N`: the sites are one hotline only over one Redis, so up finds it
(the local one unless HOTLINE_REDIS_URL names another) or refuses with a clear message,
instead of starting pages that show every other site as down."""

from __future__ import annotations

import argparse
import os

import pytest

from hotline_cli import up
from tests.console.redis.rig import REDIS_URL


def test_one_site_needs_no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_REDIS_URL", raising=False)
    assert up.sites_bus(1) is None
    assert "HOTLINE_REDIS_URL" not in os.environ


def test_several_sites_use_the_redis_that_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_REDIS_URL", REDIS_URL)
    assert up.sites_bus(3) is None
    assert os.environ["HOTLINE_REDIS_URL"] == REDIS_URL
    monkeypatch.delenv("HOTLINE_REDIS_URL")
    monkeypatch.setattr(up, "SITES_REDIS", REDIS_URL)  # the local default
    assert up.sites_bus(2) is None
    assert os.environ["HOTLINE_REDIS_URL"] == REDIS_URL  # handed to every site's server


def test_several_sites_without_redis_are_refused_before_anything_starts(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTLINE_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    started = []
    monkeypatch.setattr(up, "site_pbx", lambda *a: started.append(a))
    assert up.run_up(argparse.Namespace(sites=3)) == 1
    err = capsys.readouterr().err
    assert "none answers at redis://127.0.0.1:1/0" in err and "redis-server" in err
    assert started == []
