"""knowledge base: articles, versions, ticket links, full-text index per dialect

SQLite: an FTS5 external-content table over the stemmed columns (tickets.kb_terms
fills them; FTS5 has no German stemmer), kept in sync by triggers, ranked with bm25.
PostgreSQL: a generated `tsvector` column built with each article's language
(german or english configuration; title weighted A, tags and category B, body C)
and a GIN index on it (fastupdate off).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tickets.migrations import _ops

revision = '0006'
down_revision = '0005'

_VISIBILITY = sa.Enum('internal', 'customer', name='visibility', native_enum=False, length=20)
_CONFIG = "CASE WHEN language = 'de' THEN 'german'::regconfig ELSE 'english'::regconfig END"
_TSVECTOR = (f"setweight(to_tsvector({_CONFIG}, title), 'A') || "
             f"setweight(to_tsvector({_CONFIG}, tags || ' ' || category), 'B') || "
             f"setweight(to_tsvector({_CONFIG}, body), 'C')")
_FTS_ROW = "rowid, search_title, search_body"
_SQLITE = [
    "CREATE VIRTUAL TABLE kb_fts USING fts5(search_title, search_body, content='kb_articles', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    # the table's own `rank`: bm25 with the title, tags and category 4x the body (ORDER BY rank)
    "INSERT INTO kb_fts(kb_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0)')",
    f"CREATE TRIGGER kb_fts_ai AFTER INSERT ON kb_articles BEGIN "
    f"INSERT INTO kb_fts({_FTS_ROW}) VALUES (new.id, new.search_title, new.search_body); END",
    f"CREATE TRIGGER kb_fts_ad AFTER DELETE ON kb_articles BEGIN "
    f"INSERT INTO kb_fts(kb_fts, {_FTS_ROW}) VALUES ('delete', old.id, old.search_title, old.search_body); END",
    f"CREATE TRIGGER kb_fts_au AFTER UPDATE ON kb_articles BEGIN "
    f"INSERT INTO kb_fts(kb_fts, {_FTS_ROW}) VALUES ('delete', old.id, old.search_title, old.search_body); "
    f"INSERT INTO kb_fts({_FTS_ROW}) VALUES (new.id, new.search_title, new.search_body); END",
]


def _content() -> list[sa.Column[object]]:
    """What an article says, also what each of its saved versions keeps."""
    return [
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('category', sa.String(length=100), nullable=False),
        sa.Column('tags', sa.String(length=500), nullable=False),
        sa.Column('visibility', _VISIBILITY, nullable=False),
    ]


def upgrade() -> None:
    _ops.table('kb_articles',
    *_content(),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    _ops.moment('created_at'),
    _ops.moment('updated_at'),
    sa.Column('solved_count', sa.Integer(), nullable=False),
    sa.Column('search_title', sa.Text(), nullable=False),
    sa.Column('search_body', sa.Text(), nullable=False),
    )
    op.create_index('ix_kb_articles_category', 'kb_articles', ['category'])
    _ops.table('kb_article_versions',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    *_content(),
    sa.Column('saved_by', sa.String(length=64), nullable=False),
    _ops.moment('saved_at'),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], ondelete='CASCADE'),
    sa.UniqueConstraint('article_id', 'version', name='uq_kb_article_versions'),
    )
    _ops.table('kb_ticket_links',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('linked_by', sa.String(length=64), nullable=False),
    _ops.moment('linked_at'),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.UniqueConstraint('ticket_id', 'article_id', name='uq_kb_ticket_links'),
    )
    op.create_index('ix_kb_ticket_links_article_id', 'kb_ticket_links', ['article_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"ALTER TABLE kb_articles ADD COLUMN search tsvector GENERATED ALWAYS AS ({_TSVECTOR}) STORED")
        # fastupdate off: articles change seldom and are searched all day; with it on, new rows wait in
        # the index's pending list (scanned linearly on every search) until a vacuum merges them
        op.execute("CREATE INDEX ix_kb_articles_search ON kb_articles USING gin (search) WITH (fastupdate = off)")
    elif op.get_bind().dialect.name == 'sqlite':
        for statement in _SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('kb_fts_au', 'kb_fts_ad', 'kb_fts_ai'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS kb_fts")
    op.drop_table('kb_ticket_links')
    op.drop_table('kb_article_versions')
    op.drop_table('kb_articles')
