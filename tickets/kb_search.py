"""Ranked full-text search over the knowledge base, one statement for both databases.

Layer: storage (sync SQLAlchemy). `ranked()` hides the dialect: a subquery of
(article id, score) that KnowledgeBase joins to the articles, so a search is one
statement (one round trip). A word in a fifth of the articles matches thousands;
scoring every match (bm25 or ts_rank, which on PostgreSQL unpacks each match's
TOASTed tsvector) cost 6 ms CPU on SQLite and 40-80 ms on PostgreSQL at 10,000
articles. So only two bounded candidate sets are scored, per language:

1. "head": articles whose title, tags and category hold every query word (SQLite:
   the FTS5 column filter on `search_title`; PostgreSQL: the small `search_head`
   tsvector of migration 0015), scored on those fields plus HEAD_BONUS, so they
   always come first;
2. the first CANDIDATES matches of the whole text the index yields (no order
   beyond the index's own), scored on the whole text (SQLite: bm25 with title,
   tags and category 4:1 over the body; PostgreSQL: ts_rank, weights A title,
   B tags/category, C body).

An article matching only in its body and not among those first CANDIDATES is not
ranked: with that many matches a query is too general for it to matter. Words
are stemmed in German and English (tickets.kb_terms on SQLite, the german and
english configurations on PostgreSQL, each article in its own language); every
word must match. `count()` answers how many articles match, up to a cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Float, Integer, Subquery, column, select, text
from sqlalchemy.orm import Session

from tickets.kb_terms import LANGUAGES, fts5_match, query_terms

CANDIDATES = 200  # per language and candidate set
HEAD_BONUS = 1000.0  # above any whole-text score: every word in the title, tags or category ranks first
COUNT_CAP = 1000

_SQLITE_BRANCH = """
SELECT id, score FROM (SELECT kb_fts.rowid AS id, {bonus} - bm25(kb_fts, 4.0, 1.0) AS score
  FROM kb_fts {join} WHERE kb_fts MATCH :{match} {where} LIMIT :candidates)
"""
_POSTGRES_BRANCHES = """
SELECT id, {bonus} + ts_rank(search_head, tq) AS score FROM (SELECT a.id, a.search_head, q.{lang} AS tq
  FROM kb_articles a, q WHERE a.language = '{lang}' AND a.search_head @@ q.{lang} LIMIT :candidates) h
UNION ALL
SELECT id, ts_rank(search, tq) FROM (SELECT a.id, a.search, q.{lang} AS tq
  FROM kb_articles a, q WHERE a.language = '{lang}' AND a.search @@ q.{lang} LIMIT :candidates) b
"""
# the tsqueries come from a CTE: the planner then cannot see a word's frequency and keeps to the GIN
# index (for a common word it once chose a sequential scan that unpacked every article's tsvector)
_POSTGRES = """
WITH q AS (SELECT websearch_to_tsquery('german', :q) AS de, websearch_to_tsquery('english', :q) AS en)
SELECT id, max(score) AS score FROM ({branches}) c GROUP BY id
"""
_SQLITE_COUNT = "SELECT count(*) FROM (SELECT 1 FROM kb_fts WHERE kb_fts MATCH :match LIMIT :cap)"
_POSTGRES_COUNT = """
WITH q AS (SELECT websearch_to_tsquery('german', :q) AS de, websearch_to_tsquery('english', :q) AS en)
SELECT count(*) FROM (SELECT 1 FROM kb_articles a, q WHERE a.language = 'de' AND a.search @@ q.de
  UNION ALL SELECT 1 FROM kb_articles a, q WHERE a.language = 'en' AND a.search @@ q.en LIMIT :cap) c
"""


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: int
    score: float  # higher is better; comparable within one answer only


def params(query: str) -> dict[str, object] | None:
    """The bind parameters for `query`; None when it has no word to search for (empty,
    punctuation or stop words only), which finds nothing."""
    terms = query_terms(query)
    if not terms:
        return None
    match = fts5_match(terms)
    return {"q": query, "match": match, "head": "{search_title} : (" + match + ")", "candidates": CANDIDATES}


def _sqlite(language: str | None) -> str:
    join, where = ("JOIN kb_articles a ON a.id = kb_fts.rowid", "AND a.language = :language") if language else ("", "")
    branches = (_SQLITE_BRANCH.format(bonus=bonus, match=match, join=join, where=where)
                for bonus, match in ((HEAD_BONUS, "head"), (0.0, "match")))
    return "SELECT id, max(score) AS score FROM (" + " UNION ALL ".join(branches) + ") GROUP BY id"


def _postgres(language: str | None) -> str:
    languages = [language] if language else list(LANGUAGES)
    branches = " UNION ALL ".join(_POSTGRES_BRANCHES.format(bonus=HEAD_BONUS, lang=lang) for lang in languages)
    return _POSTGRES.format(branches=branches)


def ranked(dialect: str, language: str | None = None) -> Subquery:
    """(id, score) of the ranked candidates, unordered; bind `params(query)` (and
    `language` when given: "de" or "en", checked by the caller)."""
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language: one of {', '.join(LANGUAGES)}")
    sql = _postgres(language) if dialect == "postgresql" else _sqlite(language)
    return text(sql).columns(column("id", Integer), column("score", Float)).subquery("ranked")


def _dialect(conn: Connection | Session) -> str:
    return conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name


def search(conn: Connection | Session, query: str, language: str | None = None, limit: int = 20) -> list[Hit]:
    """The best `limit` articles for `query`, best first, ids and scores only."""
    bound = params(query)
    if bound is None:
        return []
    r = ranked(_dialect(conn), language)
    stmt = select(r.c.id, r.c.score).order_by(r.c.score.desc(), r.c.id.desc()).limit(limit)
    return [Hit(int(i), float(s)) for i, s in conn.execute(stmt, {**bound, "language": language})]


def count(conn: Connection | Session, query: str, cap: int = COUNT_CAP) -> int:
    """How many articles match every word of `query`, counted up to `cap` ("1000+")."""
    bound = params(query)
    if bound is None:
        return 0
    sql = _POSTGRES_COUNT if _dialect(conn) == "postgresql" else _SQLITE_COUNT
    return int(conn.execute(text(sql), {**bound, "cap": cap}).scalar_one())


def matched_stems(query: str) -> set[str]:
    """Every stem of every query word, to find the words a snippet should start near."""
    return {stem for forms in query_terms(query) for stem in forms}
