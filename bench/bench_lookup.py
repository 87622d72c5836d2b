"""Caller lookup latency with 1,000,000 stored phone numbers, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/bench_lookup.py [--numbers 1000000] [--lookups 10000]
     [--pg postgresql+psycopg://user@host/db]
SQLite is a fresh file in a temp dir migrated with tickets.migrate.upgrade;
PostgreSQL gets a throwaway schema (migrated the same way), dropped after.
The numbers are about 90% contacts' direct numbers (Leipzig and Berlin) and 5%
organisations, each with a main number and a number block. Rows go in through
SQLAlchemy Core executemany in big batches. Then CustomerLookup.lookup() runs on
a shuffled mix: known direct numbers in several spellings, main numbers, block
matches, odd formats ("+49 (0)341 2538-5555"), unknown numbers and extensions,
withheld callers. Each line prints fill time, p50/p99/max per lookup in ms,
lookups/s, and how many results had an unexpected status (should be 0).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import batches, databases, migrated_engine, parser, quantile_ms, realtime  # noqa: E402
from tickets.db import make_engine, session_factory  # noqa: E402
from tickets.lookup import CustomerLookup, MatchStatus  # noqa: E402
from tickets.models import Contact, Organisation, Phone, PhoneKind  # noqa: E402

BATCH = 50_000
ORG_SHARE = 20  # one organisation (main number + block = 2 phones) per 20 stored numbers
FIRST = ("Anna", "Bernd", "Clara", "Dieter", "Erika", "Frank", "Greta", "Hans", "Ida", "Jonas")
LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker")
WITHHELD = ("anonymous", "", "restricted", "Unknown", "private")


class Dataset:
    """Deterministic layout of the stored numbers, so the lookup mix knows what to expect."""

    def __init__(self, numbers: int) -> None:
        self.orgs = max(1, numbers // ORG_SHARE)
        self.contacts = numbers - 2 * self.orgs
        self.leipzig = self.contacts // 2  # the rest are Berlin numbers

    def direct(self, i: int) -> str:
        """Contact i's direct number: Leipzig +49341 25xxxxxx, then Berlin +4930 5xxxxxxx."""
        if i < self.leipzig:
            return f"+49341{25_000_000 + i:08d}"
        return f"+4930{50_000_000 + i - self.leipzig:08d}"

    @staticmethod
    def block(j: int) -> str:
        """Organisation j's number block: a Cologne prefix, +49221 1xxxx (11 characters)."""
        return f"+49221{10_000 + j:05d}"

    def main(self, j: int) -> str:
        return self.block(j) + "0"


def _insert_all(conn: Connection, table: Any, rows: Iterator[dict[str, Any]]) -> None:
    for batch in batches(rows, BATCH):
        conn.execute(insert(table), batch)


def fill(engine: Engine, data: Dataset) -> int:
    """Insert organisations, contacts and their phones; returns the number of phone rows."""
    org_rows = ({"id": j + 1, "name": f"Organisation {j}", "team": f"Team {j % 12}", "language": "de"}
                for j in range(data.orgs))
    contact_rows = ({"id": i + 1, "name": f"{FIRST[i % 10]} {LAST[i % 8]} {i}", "email": f"u{i}@example.org",
                     "language": "en" if i % 10 == 0 else "de", "team": "",
                     "organisation_id": (i % data.orgs) + 1 if i % 10 == 0 else None}
                    for i in range(data.contacts))

    def phone_rows() -> Iterator[dict[str, Any]]:
        for i in range(data.contacts):
            number = data.direct(i)
            yield {"raw": number, "normalized": number, "kind": PhoneKind.DIRECT,
                   "contact_id": i + 1, "organisation_id": None}
        for j in range(data.orgs):
            for kind, number in ((PhoneKind.MAIN, data.main(j)), (PhoneKind.BLOCK, data.block(j))):
                yield {"raw": number, "normalized": number, "kind": kind,
                       "contact_id": None, "organisation_id": j + 1}

    with engine.begin() as conn:
        _insert_all(conn, Organisation.__table__, org_rows)
        _insert_all(conn, Contact.__table__, contact_rows)
        _insert_all(conn, Phone.__table__, phone_rows())
    with engine.begin() as conn:  # committed: ANALYZE in a rolled-back transaction leaves no statistics
        if engine.dialect.name == "postgresql":
            # what autovacuum does some time after a bulk load; without statistics the planner guesses
            # 5,000 rows per number and runs a parallel bitmap scan: ~10 ms per lookup instead of ~1 ms
            conn.execute(text("ANALYZE phones, contacts, organisations"))
        return int(conn.execute(text("SELECT count(*) FROM phones")).scalar_one())


def _spellings(e164: str, rng: random.Random) -> str:
    """The same number as a caller ID might carry it."""
    national = "0" + e164[3:]
    return rng.choice((e164, "00" + e164[1:], national, f"{national[:4]} {national[4:]}"))


def _odd(e164: str, rng: random.Random) -> str:
    """'+4934125385555' -> '+49 (0)341 2538-5555' and friends."""
    area, rest = (e164[3:6], e164[6:]) if e164.startswith("+49341") else (e164[3:5], e164[5:])
    return rng.choice((f"+49 (0){area} {rest[:4]}-{rest[4:]}", f"0{area}/{rest[:3]} {rest[3:]}",
                       f"(0{area}) {rest}", f"+49-{area}-{rest}", f"0049 {area} {rest[:2]}.{rest[2:]}"))


def lookup_mix(data: Dataset, count: int, seed: int = 11) -> list[tuple[str, str, MatchStatus]]:
    """(category, raw caller ID, expected status), shuffled."""
    rng = random.Random(seed)
    mix: list[tuple[str, str, MatchStatus]] = [("odd format", "+49 (0)341 2538-5555", MatchStatus.KNOWN)
                                               if data.leipzig > 385_555 else
                                               ("odd format", _odd(data.direct(0), rng), MatchStatus.KNOWN)]
    shares = (("direct", 40), ("main", 10), ("block", 20), ("odd format", 5), ("unknown", 15), ("withheld", 10))
    for category, percent in shares:
        for _ in range(count * percent // 100 - (1 if category == "odd format" else 0)):
            if category == "direct":
                mix.append((category, _spellings(data.direct(rng.randrange(data.contacts)), rng), MatchStatus.KNOWN))
            elif category == "main":
                mix.append((category, _spellings(data.main(rng.randrange(data.orgs)), rng), MatchStatus.KNOWN))
            elif category == "block":
                number = data.block(rng.randrange(data.orgs)) + f"{rng.randrange(1, 100):02d}"
                mix.append((category, _spellings(number, rng), MatchStatus.KNOWN))
            elif category == "odd format":
                mix.append((category, _odd(data.direct(rng.randrange(data.contacts)), rng), MatchStatus.KNOWN))
            elif category == "unknown":
                raw = rng.choice((f"040 {rng.randrange(10_000_000, 99_999_999)}",
                                  f"+1 212 555 {rng.randrange(1000, 9999)}", f"{rng.randrange(100, 999_999)}",
                                  f"0171 {rng.randrange(1_000_000, 9_999_999)}"))
                mix.append((category, raw, MatchStatus.UNKNOWN))
            else:
                mix.append((category, rng.choice(WITHHELD), MatchStatus.WITHHELD))
    rng.shuffle(mix)
    return mix


def run(label: str, url: str, data: Dataset, lookups: int) -> None:
    engine = migrated_engine(url)
    start = time.perf_counter()
    stored = fill(engine, data)
    fill_s = time.perf_counter() - start
    print(f"{label:10s} fill: {stored:,} phones ({data.contacts:,} contacts, {data.orgs:,} organisations) "
          f"in {fill_s:.1f} s ({stored / fill_s:,.0f} phones/s)")
    own = make_engine(url, ping=False, generic_plans=True)  # as hotline serve
    service = CustomerLookup(session_factory(engine), engine=own)
    mix = lookup_mix(data, lookups)
    for _, raw, _ in mix[:200]:  # warm the pool and the caches
        service.lookup(raw)
    times: list[float] = []
    by_category: dict[str, list[float]] = defaultdict(list)
    wrong: Counter[str] = Counter()
    start = time.perf_counter()
    for category, raw, expected in mix:
        t0 = time.perf_counter()
        result = service.lookup(raw)
        elapsed = time.perf_counter() - t0
        times.append(elapsed)
        by_category[category].append(elapsed)
        if result.status is not expected:
            wrong[category] += 1
    total = time.perf_counter() - start
    prepared = _prepared(service)
    engine.dispose()
    service.engine.dispose()
    print(f"{label:10s} {len(mix):,} lookups: p50 {quantile_ms(times, 0.5):.2f} ms  "
          f"p99 {quantile_ms(times, 0.99):.2f} ms  "
          f"max {max(times) * 1000:.2f} ms  {len(mix) / total:,.0f} lookups/s  "
          f"unexpected status: {sum(wrong.values())} {dict(wrong) if wrong else ''}{prepared}")
    for category, values in sorted(by_category.items()):
        print(f"{'':10s}   {category:10s} n={len(values):5d}  p50 {quantile_ms(values, 0.5):.2f} ms  "
              f"p99 {quantile_ms(values, 0.99):.2f} ms  max {max(values) * 1000:.2f} ms  "
              f"mean {statistics.fmean(values) * 1000:.2f} ms")


def _prepared(service: CustomerLookup) -> str:
    """On PostgreSQL: whether the pooled connection the lookups used holds the lookup as a
    prepared statement, and how often the server planned it anew (custom plans) instead of
    running its cached generic plan."""
    if service.engine.dialect.name != "postgresql":
        return ""
    with service.engine.connect() as conn:
        rows = conn.execute(text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")).all()
    lookups = [r for r in rows if "ANY" in r[0] and "phones" in r[0]]
    return (f"; prepared on the connection: {len(lookups)} lookup statement(s), "
            f"generic plans {sum(r[1] for r in lookups):,}, custom plans {sum(r[2] for r in lookups):,}")


def main() -> int:
    ap = parser(__doc__)
    ap.add_argument("--numbers", type=int, default=1_000_000, help="stored phone numbers")
    ap.add_argument("--lookups", type=int, default=10_000)
    args = ap.parse_args()
    if args.realtime:
        realtime()
    data = Dataset(args.numbers)
    for label, url in databases(args.pg):
        run(label, url, data, args.lookups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
