"""callback_refused: why a callback item's number was not dialled (the dial allow-list)

A text column, empty by default: existing items keep "" (nothing refused).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'


def upgrade() -> None:
    with op.batch_alter_table('callbacks') as batch:
        batch.add_column(sa.Column('refused', sa.String(length=300), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('callbacks') as batch:
        batch.drop_column('refused')
