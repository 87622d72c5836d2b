"""Ranked full-text search over the knowledge base, one function for both databases.

Layer: storage (sync SQLAlchemy). `search()` hides the dialect: on SQLite it
matches the FTS5 table of stemmed words (tickets.kb_terms stems the query in
German and English, any stem of every word must match) ranked by bm25 with the
title, tags and category weighted 4:1 over the body; on PostgreSQL it matches
the generated `tsvector` through its GIN index with `websearch_to_tsquery` in the
article's own configuration (german or english), ranked by ts_rank (weights A
title, B tags/category, C body). Both answer (article id, score), best first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from tickets.kb_terms import fts5_match, query_terms

# `rank` is bm25(4.0, 1.0) (set by migration 0005); the articles table is joined only to filter by language
_SQLITE = "SELECT rowid, -rank FROM kb_fts WHERE kb_fts MATCH :match ORDER BY rank LIMIT :limit"
_SQLITE_LANGUAGE = """
SELECT kb_fts.rowid, -kb_fts.rank FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.rowid
WHERE kb_fts MATCH :match AND a.language = :language ORDER BY kb_fts.rank LIMIT :limit
"""
_POSTGRES = """
SELECT a.id, ts_rank(a.search, CASE WHEN a.language = 'de' THEN qd ELSE qe END) AS score
FROM kb_articles a, websearch_to_tsquery('german', :q) qd, websearch_to_tsquery('english', :q) qe
WHERE ((a.language = 'de' AND a.search @@ qd) OR (a.language = 'en' AND a.search @@ qe)) {language}
ORDER BY score DESC, a.id DESC LIMIT :limit
"""


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: int
    score: float  # higher is better; comparable within one answer only


def search(session: Session, query: str, language: str | None = None, limit: int = 20) -> list[Hit]:
    """The articles matching every word of `query` (stemmed), best first; `language`
    ("de"/"en") keeps only articles in it. An empty or punctuation-only query finds nothing."""
    terms = query_terms(query)
    if not terms:
        return []
    where = "AND a.language = :language" if language else ""
    params: dict[str, object] = {"limit": limit, "language": language}
    if session.get_bind().dialect.name == "postgresql":
        # The planner prices `@@` as cheap and does not count detoasting every row's tsvector: for a
        # word in a fifth of 10,000 articles it picked a sequential scan that unpacked all of them
        # (EXPLAIN ANALYZE: 72-79 ms, the GIN bitmap scan 18-21 ms, same query, same busy machine).
        # The index reads the matches only. LOCAL: this transaction only.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        sql, params["q"] = _POSTGRES.format(language=where), query
    else:
        sql, params["match"] = (_SQLITE_LANGUAGE if language else _SQLITE), fts5_match(terms)
    return [Hit(int(row[0]), float(row[1])) for row in session.execute(text(sql), params)]


def matched_stems(query: str) -> set[str]:
    """Every stem of every query word, to find the words a snippet should start near."""
    return {stem for forms in query_terms(query) for stem in forms}
