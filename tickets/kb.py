"""KnowledgeBase: write, version, read and search articles, as JSON-ready dicts.

Layer: service (sync; run it off the event loop). Must not import agent_console.
Every save writes a KbArticleVersion (who, when) and bumps `version`; an update
names the version it was based on, and a stale one is refused (KbConflict), so
two writers never silently overwrite each other. The stemmed search columns are
filled here on every save (tickets.kb_terms); the index follows by trigger
(SQLite) or generated column (PostgreSQL). Who may write what is the route's
decision, passed in as `may_publish` (customer-visible articles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Row, Select, select
from sqlalchemy.orm import Session, sessionmaker

from tickets import kb_search
from tickets.db import once_more_if_dropped
from tickets.kb_models import KbArticle, KbArticleVersion, Visibility
from tickets.kb_render import snippet, to_html
from tickets.kb_terms import LANGUAGES, index_text


class KbError(ValueError):
    """Bad input; the message names the field."""


class KbNotFound(KbError):
    pass


class KbConflict(KbError):
    """The article changed since the version the writer started from."""


class KbForbidden(KbError):
    """Customer-visible articles are written by supervisors and admins only."""


@dataclass(frozen=True, slots=True)
class ArticleData:
    title: str
    body: str
    language: str
    category: str = ""
    tags: tuple[str, ...] = ()
    visibility: Visibility = Visibility.INTERNAL


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def tags_text(tags: tuple[str, ...]) -> str:
    """Tags as stored: trimmed, lower case, distinct, comma separated (a tag holds no comma)."""
    clean = (t.strip().lower() for t in tags)
    return ",".join(dict.fromkeys(t for t in clean if t))


def summary(a: KbArticle | Row[Any]) -> dict[str, Any]:
    """An article, or a row of its columns, as JSON-ready data (without the body)."""
    return {"id": a.id, "title": a.title, "language": a.language, "category": a.category,
            "tags": [t for t in a.tags.split(",") if t], "visibility": a.visibility.value,
            "version": a.version, "author": a.author, "updated_by": a.updated_by,
            "created_at": _iso(a.created_at), "updated_at": _iso(a.updated_at), "solved_count": a.solved_count}


def detail(a: KbArticle) -> dict[str, Any]:
    return {**summary(a), "body": a.body, "html": to_html(a.body)}


def _version_dict(v: KbArticleVersion, body: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"article_id": v.article_id, "version": v.version, "title": v.title,
                           "language": v.language, "category": v.category,
                           "tags": [t for t in v.tags.split(",") if t], "visibility": v.visibility.value,
                           "saved_by": v.saved_by, "saved_at": _iso(v.saved_at)}
    if body:
        out |= {"body": v.body, "html": to_html(v.body)}
    return out


class KnowledgeBase:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime],
                 reads: Engine | None = None) -> None:
        """`reads`: where searches run (tickets.db.make_engine(url, ping=False), as the app
        gives); by default the sessions' own engine. Used in autocommit either way."""
        self.sessions, self.clock = sessions, clock
        self.reads: Engine = (reads or sessions.kw["bind"]).execution_options(isolation_level="AUTOCOMMIT")

    def _apply(self, s: Session, a: KbArticle, data: ArticleData, actor: str) -> None:
        if data.language not in LANGUAGES:
            raise KbError(f"language: one of {', '.join(LANGUAGES)}")
        now = self.clock()
        a.title, a.body, a.language, a.category = data.title, data.body, data.language, data.category
        a.tags, a.visibility, a.updated_by, a.updated_at = tags_text(data.tags), data.visibility, actor, now
        a.search_title = index_text(" ".join((a.title, a.tags.replace(",", " "), a.category)), a.language)
        a.search_body = index_text(a.body, a.language)
        s.flush()
        s.add(KbArticleVersion(article_id=a.id, version=a.version, title=a.title, body=a.body, language=a.language,
                               category=a.category, tags=a.tags, visibility=a.visibility, saved_by=actor,
                               saved_at=now))

    def create(self, data: ArticleData, actor: str, may_publish: bool = True) -> dict[str, Any]:
        if data.visibility is Visibility.CUSTOMER and not may_publish:
            raise KbForbidden("visibility: customer articles are written by supervisors and admins")
        with self.sessions.begin() as s:
            a = KbArticle(author=actor, version=1, solved_count=0, created_at=self.clock())
            s.add(a)
            self._apply(s, a, data, actor)
            return detail(a)

    def update(self, article_id: int, data: ArticleData, actor: str, base_version: int,
               may_publish: bool = True) -> dict[str, Any]:
        with self.sessions.begin() as s:
            a = s.get(KbArticle, article_id, with_for_update=True)
            if a is None:
                raise KbNotFound(f"no article {article_id}")
            if not may_publish and Visibility.CUSTOMER in (a.visibility, data.visibility):
                raise KbForbidden("visibility: customer articles are written by supervisors and admins")
            if a.version != base_version:
                raise KbConflict(f"version: the article is at version {a.version}, not {base_version}")
            a.version += 1
            self._apply(s, a, data, actor)
            return detail(a)

    def article(self, article_id: int) -> dict[str, Any] | None:
        with self.sessions() as s:
            a = s.get(KbArticle, article_id)
            return detail(a) if a else None

    def articles(self, language: str | None = None, category: str | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
        q = select(KbArticle).order_by(KbArticle.updated_at.desc(), KbArticle.id.desc()).limit(limit)
        if language:
            q = q.where(KbArticle.language == language)
        if category:
            q = q.where(KbArticle.category == category)
        with self.sessions() as s:
            return [summary(a) for a in s.scalars(q)]

    def versions(self, article_id: int) -> list[dict[str, Any]] | None:
        with self.sessions() as s:
            if s.get(KbArticle, article_id) is None:
                return None
            rows = s.scalars(select(KbArticleVersion).where(KbArticleVersion.article_id == article_id)
                             .order_by(KbArticleVersion.version.desc()))
            return [_version_dict(v, body=False) for v in rows]

    def version(self, article_id: int, version: int) -> dict[str, Any] | None:
        with self.sessions() as s:
            v = s.scalar(select(KbArticleVersion).where(KbArticleVersion.article_id == article_id,
                                                        KbArticleVersion.version == version))
            return _version_dict(v, body=True) if v else None

    def search(self, query: str, language: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Ranked hits, each an article summary with `score` and a plain-text `snippet`: one
        statement (ranking and articles, Core rows: no ORM objects) on an autocommit connection,
        one round trip."""
        bound = kb_search.params(query)
        if bound is None:
            return []
        stmt = _search_statement(self.reads.dialect.name, language).limit(limit)

        def run() -> list[Row[Any]]:
            with self.reads.connect() as conn:
                return list(conn.execute(stmt, {**bound, "language": language}))

        stems = kb_search.matched_stems(query)
        return [{**summary(row), "score": round(row.score, 6), "snippet": snippet(row.body, stems)}
                for row in once_more_if_dropped(run)]


@lru_cache(maxsize=8)
def _search_statement(dialect: str, language: str | None) -> Select[Any]:
    """The articles' summary columns and body with their score, best first (no limit yet)."""
    r = kb_search.ranked(dialect, language)
    columns = [c for c in KbArticle.__table__.c if c.name not in ("search_title", "search_body")]
    return select(*columns, r.c.score).join_from(KbArticle, r, r.c.id == KbArticle.id).order_by(
        r.c.score.desc(), r.c.id.desc())
