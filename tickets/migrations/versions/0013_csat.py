"""csat: the caller's answer to the post-call survey on the call's ticket

A nullable integer (1-5, NULL = not answered): existing tickets keep NULL.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('csat', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('csat')
