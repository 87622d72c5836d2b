"""Knowledge-base search latency over 10,000 articles, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/bench_kb.py [--articles 10000] [--searches 2000]
     [--pg postgresql+psycopg://user@host/db]
SQLite is a fresh file in a temp dir migrated with tickets.migrate.upgrade;
PostgreSQL gets a throwaway schema (migrated the same way), dropped after.
Half the articles are German, half English: the demo articles plus generated ones
whose words follow a Zipf distribution over a 6,000-word vocabulary of each
language (real help-desk words first, then made-up ones), 40-400 words each, so a
common word is in thousands of articles and a rare one in a handful. Rows go in
through SQLAlchemy Core in batches with the stemmed columns tickets.kb fills (the
FTS5 triggers and PostgreSQL's generated tsvector do the rest), then ANALYZE.
The searches are a shuffled mix: common words (matching thousands), medium, rare,
two-word queries, misses, and the issue's "Passwort zurücksetzen" / "reset password".
Each line prints p50/p99/max in ms of KnowledgeBase.search (20 hits with snippets,
what GET /api/kb/search answers, on a ping-less engine as the app gives it) and of
the ranked query alone (kb_search.search); the CPU time per search in this process
(on SQLite all the work) and, on PostgreSQL, the server backend's CPU time per
search (its /proc utime+stime over all searches, a mean: the ticks are too coarse
for one search), which a busy machine does not inflate; and the load average at
start and end, since other work on the machine does inflate the wall-clock figures.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import databases, migrated_engine, parser, quantile_ms, realtime  # noqa: E402
from tickets.db import make_engine, session_factory  # noqa: E402
from tickets.kb import KnowledgeBase, tags_text  # noqa: E402
from tickets.kb_demo import DEMO_ARTICLES  # noqa: E402
from tickets.kb_models import KbArticle, Visibility  # noqa: E402
from tickets.kb_search import count, search  # noqa: E402
from tickets.kb_terms import index_text  # noqa: E402

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BATCH = 2_000
VOCABULARY = 6_000
REAL = {
    "de": ("drucker passwort konto anmeldung netzwerk verbindung fehler meldung rechner bildschirm tastatur "
           "laufwerk ordner freigabe zugriff berechtigung benutzer postfach kalender termin telefon headset "
           "software installation aktualisierung lizenz zertifikat browser seite formular datei speicher "
           "sicherung wiederherstellung server dienst neustart anwendung programm fenster einstellung").split(),
    "en": ("printer password account login network connection error message computer screen keyboard drive "
           "folder share access permission user mailbox calendar meeting phone headset software install "
           "update licence certificate browser page form file storage backup restore server service restart "
           "application program window setting").split(),
}


# the most frequent words of running text are function words (most of them stop words)
FUNCTION = {
    "de": ("der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden "
           "aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war").split(),
    "en": ("the of and to a in is it you that he was for on are with as his they be at one have this from or "
           "had by not but what some we can out other were all there when up use your how an each which do their "
           "if will").split(),
}


def vocabulary(language: str, rng: random.Random) -> list[str]:
    """Function words first, then help-desk words, then made-up ones (Zipf ranks in this order)."""
    words = FUNCTION[language] + REAL[language]
    seen = set(words)
    syllables = ("ka", "lo", "mi", "ter", "sch", "ung", "ber", "an", "ve", "ro", "fi", "st", "el", "dra", "qu", "ix")
    while len(words) < VOCABULARY:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_weights(n: int) -> list[float]:
    return [1 / (rank + 1) for rank in range(n)]


def generated(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    vocab = {lang: vocabulary(lang, rng) for lang in ("de", "en")}
    weights = zipf_weights(VOCABULARY)
    rows = []
    for i in range(count):
        lang = "de" if i % 2 == 0 else "en"
        words = rng.choices(vocab[lang], weights=weights, k=rng.randint(40, 400))
        title = " ".join(rng.choices(vocab[lang][40:800], k=rng.randint(3, 7))).capitalize()
        body = "\n\n".join(" ".join(words[j:j + 40]).capitalize() + "." for j in range(0, len(words), 40))
        tags = tuple(rng.sample(vocab[lang][40:300], 2))
        rows.append(_row(title, body, lang, f"Kategorie {i % 40}", tags))
    return rows


def _row(title: str, body: str, language: str, category: str, tags: tuple[str, ...]) -> dict[str, Any]:
    tag_text = tags_text(tags)
    return {"title": title, "body": body, "language": language, "category": category, "tags": tag_text,
            "visibility": Visibility.INTERNAL, "version": 1, "author": "bench", "updated_by": "bench",
            "created_at": NOW, "updated_at": NOW, "solved_count": 0,
            "search_title": index_text(" ".join((title, tag_text.replace(",", " "), category)), language),
            "search_body": index_text(body, language)}


def fill(engine: Engine, articles: int) -> None:
    rows = [_row(a.title, a.body, a.language, a.category, a.tags) for a in DEMO_ARTICLES]
    rows += generated(articles - len(rows))
    with engine.begin() as conn:
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(KbArticle.__table__), rows[start:start + BATCH])
    with engine.begin() as conn:  # committed: statistics for the planner, as autovacuum would
        conn.execute(text("ANALYZE kb_articles" if engine.dialect.name == "postgresql" else "ANALYZE"))


def query_mix(count: int, seed: int = 3) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    vocab = {lang: vocabulary(lang, random.Random(7)) for lang in ("de", "en")}  # the same words as the fill
    mix: list[tuple[str, str]] = []
    kinds = ("common", "medium", "rare", "two words", "miss", "issue")
    for i in range(count):
        kind, lang = kinds[i % len(kinds)], rng.choice(("de", "en"))
        words = vocab[lang]
        common = REAL[lang]
        if kind == "common":  # a help-desk word: in 15-35 % of the articles
            query = rng.choice(common)
        elif kind == "medium":
            query = rng.choice(words[200:1000])
        elif kind == "rare":
            query = rng.choice(words[3000:])
        elif kind == "two words":
            query = f"{rng.choice(common)} {rng.choice(words[100:600])}"
        elif kind == "miss":
            query = f"zzq{rng.randrange(10**6)}"
        else:
            query = rng.choice(("Passwort zurücksetzen", "reset password", "Zurücksetzen des Passworts",
                                "Drucker druckt nicht", "printer", "VPN", "Outlook startet nicht"))
        mix.append((kind, query))
    rng.shuffle(mix)
    return mix


def run(label: str, url: str, articles: int, searches: int) -> None:
    engine = migrated_engine(url)
    start = time.perf_counter()
    fill(engine, articles)
    print(f"{label:10s} fill: {articles:,} articles in {time.perf_counter() - start:.1f} s")
    sessions = session_factory(engine)
    reads = make_engine(url, ping=False)
    kb = KnowledgeBase(sessions, lambda: NOW, reads)
    checks = {"Passwort zurücksetzen": "Passwort zurücksetzen", "reset password": "Reset a password"}
    for query, title in checks.items():
        top = kb.search(query)[0]["title"]
        print(f"{label:10s} {query!r} -> {top!r}" + ("" if top == title else "  UNEXPECTED"))
    mix = query_mix(searches)
    for _, query in mix[:100]:  # warm the pool and the caches
        kb.search(query)
    service: dict[str, list[float]] = defaultdict(list)
    ranked: dict[str, list[float]] = defaultdict(list)
    cpu: list[float] = []  # this thread's CPU time per search: on SQLite all the work, without waiting for a core
    backend = _backend_pid(reads)
    server_cpu = _proc_cpu(backend)
    print(f"{label:10s} load average at start: {_load()}")
    for kind, query in mix:
        t0, c0 = time.perf_counter(), time.thread_time()
        kb.search(query)
        service[kind].append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    server_cpu = _proc_cpu(backend) - server_cpu
    for kind, query in mix:
        with reads.connect() as conn:
            t0 = time.perf_counter()
            search(conn, query)
            ranked[kind].append(time.perf_counter() - t0)
    print(f"{label:10s} load average at end:   {_load()}")
    matching: dict[str, list[int]] = defaultdict(list)  # how many articles a few queries of each kind match
    with sessions() as s:
        for kind, query in mix:
            if len(matching[kind]) < 3:
                matching[kind].append(count(s, query, cap=1_000_000))
    every = [v for values in service.values() for v in values]
    every_ranked = [v for values in ranked.values() for v in values]
    print(f"{label:10s} {len(mix):,} searches: p50 {quantile_ms(every, 0.5):.2f} ms  "
          f"p99 {quantile_ms(every, 0.99):.2f} ms  "
          f"max {max(every) * 1000:.2f} ms  (ranked query alone: p50 {quantile_ms(every_ranked, 0.5):.2f} ms  "
          f"p99 {quantile_ms(every_ranked, 0.99):.2f} ms)")
    print(f"{'':10s} CPU time per search in this process (the work itself, not the wait for a core): "
          f"p50 {quantile_ms(cpu, 0.5):.2f} ms  p99 {quantile_ms(cpu, 0.99):.2f} ms  max {max(cpu) * 1000:.2f} ms")
    if backend is not None:
        print(f"{'':10s} PostgreSQL backend CPU time per search (mean): {server_cpu / len(mix) * 1000:.2f} ms")
    for kind in sorted(service):
        note = f"  e.g. {', '.join(f'{n:,}' for n in matching[kind])} matching"
        print(f"{'':10s}   {kind:10s} n={len(service[kind]):4d}  p50 {quantile_ms(service[kind], 0.5):.2f} ms  "
              f"p99 {quantile_ms(service[kind], 0.99):.2f} ms  max {max(service[kind]) * 1000:.2f} ms  "
              f"(ranked alone p99 {quantile_ms(ranked[kind], 0.99):.2f} ms){note}")
    engine.dispose()
    reads.dispose()


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} CPUs)"


def _backend_pid(engine: Engine) -> int | None:
    """The server process of the engine's one pooled connection (a local PostgreSQL), else None."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def _proc_cpu(pid: int | None) -> float:
    """utime + stime of process `pid` in seconds (0 without one)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = parser(__doc__)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--searches", type=int, default=2_000)
    args = ap.parse_args()
    if args.realtime:
        realtime()
    for label, url in databases(args.pg):
        run(label, url, args.articles, args.searches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
