"""notice templates: an admin's own texts for the callers' mails

One row per (kind, language) an admin has changed; the built-in texts
(tickets/notice_text.py) stay the default, so existing data needs nothing.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'


def upgrade() -> None:
    op.create_table(
        'notice_templates',
        sa.Column('kind', sa.String(20), primary_key=True),
        sa.Column('language', sa.String(10), primary_key=True),
        sa.Column('subject', sa.String(400), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('notice_templates')
