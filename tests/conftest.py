import os
import sys
from pathlib import Path

import pytest

# Session fixtures, defined once here: importing them again in a sub-conftest or a
# test module would make pytest build a second instance (a second Asterisk).
from tests.db_fixture import database_url, module_database_url  # noqa: F401  (temp SQLite or PostgreSQL schema)
from tests.pbx_fixture import end_background_calls, pbx  # noqa: F401  (the private Asterisk, its callers reaped)

# The PostgreSQL pass (tests/run_all.py) runs only the tests that reach the database:
# those whose module, or the module of a fixture they use (tests/db_fixture.py for
# `database_url` and `module_database_url`), reads HOTLINE_TEST_DATABASE_URL or uses
# throwaway_database. The others never open the test database; the SQLite pass runs them.
# HOTLINE_TEST_PG_ALL=1 runs every collected test there as well.
_DB_HINTS = ("HOTLINE_TEST_DATABASE_URL", "throwaway_database")


def _reads_test_database(path: str | None, seen: dict[str, bool]) -> bool:
    if not path or Path(path).resolve() == Path(__file__).resolve():
        return False  # this file names the variable only to look for it
    if path not in seen:
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            text = ""
        seen[path] = any(hint in text for hint in _DB_HINTS)
    return seen[path]


def _uses_database(item: pytest.Item, seen: dict[str, bool]) -> bool:
    module = getattr(item, "module", None)
    if _reads_test_database(getattr(module, "__file__", None), seen):
        return True
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        for fixturedef in defs:
            func = getattr(fixturedef, "func", None)
            source = sys.modules.get(getattr(func, "__module__", ""), None)
            if _reads_test_database(getattr(source, "__file__", None), seen):
                return True
    return False


# HOTLINE_TEST_PHASE (set by tests/run_all.py) splits a pass in two: "live" runs only
# the tests whose timing is real - a private Asterisk (the `pbx` fixture, the `asterisk`
# marker, tests/integration) or Chromium (the `browser` fixture or marker, tests/browser) -
# or a wall-clock deadline (the `timing` marker) - and "rest" everything else, which may
# share the machine with another pass.
_LIVE_FIXTURES = {"pbx", "browser"}
_LIVE_FOLDERS = {"integration", "browser"}


def is_live(item: pytest.Item) -> bool:
    if any(item.get_closest_marker(m) for m in ("asterisk", "browser", "timing")):
        return True
    if _LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    here = Path(__file__).resolve().parent
    path = Path(str(item.path)).resolve()
    return path.is_relative_to(here) and path.relative_to(here).parts[0] in _LIVE_FOLDERS


def _deselect(config: pytest.Config, items: list[pytest.Item], keep: list[pytest.Item]) -> None:
    if len(keep) < len(items):
        kept = set(keep)
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = keep


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    phase = os.environ.get("HOTLINE_TEST_PHASE", "")
    if phase in ("live", "rest"):
        _deselect(config, items, [item for item in items if is_live(item) == (phase == "live")])
    if not os.environ.get("HOTLINE_TEST_DATABASE_URL", "").startswith("postgresql"):
        # two write transactions at once: SQLite has one writer; the PostgreSQL runs take them
        _deselect(config, items, [item for item in items if item.get_closest_marker("postgresql") is None])
        return
    if os.environ.get("HOTLINE_TEST_PG_ALL"):
        return
    seen: dict[str, bool] = {}
    _deselect(config, items, [item for item in items if _uses_database(item, seen)])
