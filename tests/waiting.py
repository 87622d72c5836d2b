"""Waiting for a condition that a server in another thread or process makes true:
poll it, never a fixed sleep.

Layer: test support.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(check: Callable[[], object], timeout: float = 10.0, every: float = 0.1) -> None:
    """Return once `check()` is truthy; fail the test if it is not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(every)
