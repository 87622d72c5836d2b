"""What the `… import FILE` commands do when the file or the database fails.

Layer: edge. One line on stderr naming the command and the file; the caller
returns exit code 1. Work committed before a database error stays stored.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def guarded_import(
    command: str, file: Path, parts: str, work: Callable[[], T], bad_file: tuple[type[Exception], ...] = ()
) -> T | None:
    """`work()`'s result, or None after saying why it failed: the file cannot be
    read, it is bad (`bad_file`), or the database failed after some `parts` were stored."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return work()
    except OSError as exc:
        print(f"{command}: cannot read {file}: {exc.strerror or exc}", file=sys.stderr)
    except bad_file as exc:
        print(f"{command}: {file}: {exc}", file=sys.stderr)
    except SQLAlchemyError as exc:
        print(f"{command}: database error ({parts} before it are stored): {exc}", file=sys.stderr)
    return None
