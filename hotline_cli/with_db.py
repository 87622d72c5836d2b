"""One command's database session for the CLI: the configured engine, the work, a
one-line error on stderr and exit code 1 when it fails, the engine closed either way.

Layer: edge (used by `hotline levels …`, `hotline reports …`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from agent_console.settings import Settings


def with_database(command: str, work: Callable[[Settings, sessionmaker[Session]], None],
                  expected: tuple[type[Exception], ...] = ()) -> int:
    """0 after `work(settings, sessions)`; 1 after printing `command: …` for an `expected`
    error (its message) or a database error."""
    from sqlalchemy.exc import SQLAlchemyError

    from agent_console.settings import Settings
    from tickets.db import make_engine, session_factory

    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        work(settings, session_factory(engine))
    except expected as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"{command}: database error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0
