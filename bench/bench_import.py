"""Customer CSV import rows/s: 100,000 rows (about 1% deliberately broken) into SQLite, and PostgreSQL.

Run: .venv/bin/python bench/bench_import.py [--rows 100000] [--pg postgresql+psycopg://user@host/db]
The CSV is generated in a temp dir; SQLite is a fresh file migrated with
tickets.migrate.upgrade; PostgreSQL gets a throwaway schema, dropped after.
Each line says rows/s over all data rows, imported contacts and bad rows.
"""

from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import databases, migrated_engine, parser  # noqa: E402
from tickets.customers import COLUMNS, CustomerService  # noqa: E402
from tickets.db import session_factory  # noqa: E402

FIRST = ("Anna", "Bernd", "Clara", "Dieter", "Erika", "Frank", "Greta", "Hans", "Ida", "Jonas")
LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker")
BROKEN = (
    lambda i: ["", f"Org {i % 500}", f"0341 {1000000 + i}", "", "de", ""],  # empty name
    lambda i: [f"Bad {i}", f"Org {i % 500}", "not-a-number", "", "de", ""],  # bad phone
    lambda i: [f"Too {i}", "x", f"0341 {1000000 + i}", "", "de", "", "extra"],  # column count
    lambda i: [f"Ctrl\r{i}", "x", f"0341 {1000000 + i}", "", "de", ""],  # control character
)


def write_csv(path: Path, rows: int, seed: int = 7) -> int:
    """Write `rows` data rows; returns how many are deliberately broken."""
    rng = random.Random(seed)
    broken = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(rows):
            if rng.random() < 0.01:
                writer.writerow(BROKEN[i % len(BROKEN)](i))
                broken += 1
                continue
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}"
            phones = [f"0341 {2000000 + i}"] + ([f"+49 (0)30 {5000000 + i}"] if i % 3 == 0 else [])
            writer.writerow([name, f"Organisation {i % 500}", ";".join(phones), f"u{i}@example.org",
                             "en" if i % 10 == 0 else "de", "Schulen" if i % 7 == 0 else ""])
    return broken


def run(label: str, url: str, csv_path: Path, rows: int) -> None:
    engine = migrated_engine(url)
    service = CustomerService(session_factory(engine))
    start = time.perf_counter()
    with csv_path.open(encoding="utf-8", newline="") as fh:
        report = service.import_csv(fh)
    elapsed = time.perf_counter() - start
    engine.dispose()
    print(f"{label:10s} {rows / elapsed:10,.0f} rows/s  {elapsed:6.1f} s  "
          f"imported {report.imported:,}  bad rows {len(report.errors):,}")


def main() -> int:
    ap = parser(__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "customers.csv"
        broken = write_csv(csv_path, args.rows)
        print(f"CSV: {args.rows:,} data rows, {broken:,} deliberately broken, "
              f"{csv_path.stat().st_size / 1e6:.1f} MB")
        for label, url in databases(args.pg):
            run(label, url, csv_path, args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
