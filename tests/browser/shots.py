"""Where the browser tests put the screenshots they take for people to look at.

By default a folder of this test run's own in the temp folder (`./hotline.sh test` removes
it afterwards), so a test run leaves the checkout as it was; `HOTLINE_SCREENSHOTS=docs/screenshots`
refreshes the README's pictures these tests make.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def shot(name: str) -> str:
    """The path for screenshot `name` (its folder made when needed)."""
    chosen = os.environ.get("HOTLINE_SCREENSHOTS")
    folder = Path(chosen) if chosen else Path(tempfile.gettempdir()) / f"hotline-screenshots-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)
