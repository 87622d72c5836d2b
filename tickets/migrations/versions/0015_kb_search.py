"""kb search: a small `tsvector` of each article's title, tags and category (PostgreSQL)

tickets.kb_search ranks two bounded candidate sets instead of every match: the
articles whose title, tags and category hold every query word, and the first
matches the index yields. On PostgreSQL the first set needs its own generated
column (`search_head`, weights A title, B tags and category, in the article's
language) and GIN index; it is small, so it stays in the row (no TOAST fetch to
rank it). SQLite needs nothing: FTS5 filters on its `search_title` column.
Existing rows get the column computed by ALTER TABLE.
"""
from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0014'

_CONFIG = "CASE WHEN language = 'de' THEN 'german'::regconfig ELSE 'english'::regconfig END"
_HEAD = (f"setweight(to_tsvector({_CONFIG}, title), 'A') || "
         f"setweight(to_tsvector({_CONFIG}, tags || ' ' || category), 'B')")


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"ALTER TABLE kb_articles ADD COLUMN search_head tsvector GENERATED ALWAYS AS ({_HEAD}) STORED")
        op.execute("CREATE INDEX ix_kb_articles_search_head ON kb_articles USING gin (search_head) "
                   "WITH (fastupdate = off)")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_kb_articles_search_head")
        op.execute("ALTER TABLE kb_articles DROP COLUMN IF EXISTS search_head")
