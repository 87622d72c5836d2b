"""`hotline customers import FILE.csv` and `hotline customers export FILE.csv`.

Layer: edge. The work is tickets.customers'; this prints a progress bar (on
stderr), the counts and the bad rows. Files are UTF-8 (a BOM is fine); bytes
that are not UTF-8 make only their own row bad.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hotline_cli.file_import import guarded_import

if TYPE_CHECKING:
    from tickets.customers import CustomerService, ImportReport

SHOW_ERRORS = 50


def add_customers_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("customers", help="customers: import or export contacts as CSV")
    csub = p.add_subparsers(dest="customers_action", required=True)
    imp = csub.add_parser("import", help="import contacts from CSV (name,organization,phones,email,language,team)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--batch", type=int, default=2000, help="rows per transaction")
    imp.set_defaults(func=run_customers_import)
    exp = csub.add_parser("export", help="export all contacts as CSV (the columns import reads)")
    exp.add_argument("file", type=Path)
    exp.set_defaults(func=run_customers_export)


def _service() -> CustomerService:
    from agent_console.settings import Settings
    from tickets.customers import CustomerService
    from tickets.db import make_engine, session_factory

    settings = Settings()
    return CustomerService(session_factory(make_engine(settings.database_url)), settings.default_region)


def _open(path: Path) -> TextIO:
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")


def _count_records(path: Path) -> int:
    from tickets.csv_cells import csv_records

    with _open(path) as fh:
        return max(0, sum(1 for _ in csv_records(csv.reader(fh), [])) - 1)  # minus the header


def _import(file: Path, batch: int) -> ImportReport:
    from tqdm import tqdm

    total = _count_records(file)
    with _open(file) as fh, tqdm(total=total, unit="rows", file=sys.stderr, leave=False) as bar:
        return _service().import_csv(fh, progress=bar.update, batch=max(1, batch))


def run_customers_import(args: argparse.Namespace) -> int:
    from tickets.customers import CustomerError

    report = guarded_import("hotline customers import", args.file, "batches", lambda: _import(args.file, args.batch),
                            (CustomerError,))
    if report is None:
        return 1
    print(f"imported {report.imported}, {len(report.errors)} bad rows")
    for line, reason in report.errors[:SHOW_ERRORS]:
        print(f"line {line}: {reason}")
    if len(report.errors) > SHOW_ERRORS:
        print(f"... and {len(report.errors) - SHOW_ERRORS} more")
    return 0 if report.imported or not report.errors else 1


def run_customers_export(args: argparse.Namespace) -> int:
    try:
        with args.file.open("w", encoding="utf-8", newline="") as fh:
            count = _service().export_csv(fh)
    except OSError as exc:
        print(f"hotline customers export: cannot write {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"exported {count} contacts to {args.file}")
    return 0
