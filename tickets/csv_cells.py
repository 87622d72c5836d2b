"""CSV cells as a spreadsheet reads them: formula cells neutralised on export and
read back on import, and records with the line each starts on.

Layer: pure (stdlib csv only). Used by tickets.customers and the CLI.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet cell a formula


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (OWASP "CSV injection"), behind an
    apostrophe, which spreadsheets show as text; `csv_cells` takes it off again."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def csv_cells(fields: list[str]) -> list[str]:
    """The cells as exported values read back: a neutralised formula loses its apostrophe."""
    return [f[1:] if f.startswith("'") and f[1:].startswith(FORMULA_START) else f for f in fields]


def csv_records(reader: Any, errors: list[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, fields); blank records skipped, unreadable ones reported."""
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append((line, f"unreadable CSV: {exc}"))
            if reader.line_num < line:
                return
            continue
        if any(f.strip() for f in fields):
            yield line, csv_cells(fields)
