"""tickets: a version for conflict detection (ETag / If-Match)

Every change to a ticket raises `version` by one in the same UPDATE that checks
the version it read (tickets.desk), so two editors cannot overwrite each other
silently. Existing tickets start at 1.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('1')))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('version')
