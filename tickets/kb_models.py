"""Knowledge-base tables: articles, their saved versions, and article-ticket links.

Layer: storage. Imports tickets.models' Base only; must not import agent_console.
The search index is not mapped here: migration 0005 builds it per dialect (an FTS5
external-content table kept in sync by triggers on SQLite, a generated `tsvector`
column with a GIN index on PostgreSQL, plus migration 0015's small `search_head`
tsvector of title, tags and category) and tickets.kb_search queries it.
`search_title`/`search_body` hold the stemmed words FTS5 indexes (filled on every
save by tickets.kb; SQLite has no German stemmer of its own).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tickets.models import Base, UtcDateTime, _enum, utcnow


class Visibility(enum.StrEnum):
    INTERNAL = "internal"  # agents only
    CUSTOMER = "customer"  # may be shown or sent to callers


class KbArticle(Base):
    __tablename__ = "kb_articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    language: Mapped[str] = mapped_column(String(2), default="de")  # de | en
    category: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[str] = mapped_column(String(500), default="")  # comma separated, lower case
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility), default=Visibility.INTERNAL)
    version: Mapped[int] = mapped_column(Integer, default=1)
    author: Mapped[str] = mapped_column(String(64))  # who wrote the first version
    updated_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    solved_count: Mapped[int] = mapped_column(Integer, default=0)
    # deferred: written on every save, read by FTS5 only (never loaded with an article)
    search_title: Mapped[str] = mapped_column(Text, default="", deferred=True)
    search_body: Mapped[str] = mapped_column(Text, default="", deferred=True)
    __table_args__ = (Index("ix_kb_articles_category", "category"),)


class KbArticleVersion(Base):
    """Every saved state of an article (the current one included): who saved it, when."""

    __tablename__ = "kb_article_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[str] = mapped_column(String(500), default="")
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility))
    saved_by: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime())
    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_kb_article_versions"),)


class KbTicketLink(Base):
    """A ticket solved with an article; one row per (ticket, article), so it counts once."""

    __tablename__ = "kb_ticket_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    linked_by: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    __table_args__ = (UniqueConstraint("ticket_id", "article_id", name="uq_kb_ticket_links"),)
