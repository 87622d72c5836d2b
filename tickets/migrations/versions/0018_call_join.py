"""call_join: the two legs of a call one site overflowed to another, joined (issue 15)

The answering leg's record gets the entry leg's identity (entry_site, entry_linkedid,
indexed together) and the time the caller spent at the entry site (entry_wait_seconds,
part of its wait_seconds); the entry leg's record gets the site and Linkedid that took
it (overflow_site, overflow_linkedid) and outcome `overflowed`. All nullable: existing
records were never overflowed and keep what they had.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'


def upgrade() -> None:
    with op.batch_alter_table('call_records') as batch:
        batch.add_column(sa.Column('entry_site', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('entry_linkedid', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('entry_wait_seconds', sa.Float(), nullable=True))
        batch.add_column(sa.Column('overflow_site', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('overflow_linkedid', sa.String(length=64), nullable=True))
        batch.create_index('ix_call_records_entry', ['entry_site', 'entry_linkedid'])


def downgrade() -> None:
    with op.batch_alter_table('call_records') as batch:
        batch.drop_index('ix_call_records_entry')
        for column in ('overflow_linkedid', 'overflow_site', 'entry_wait_seconds', 'entry_linkedid', 'entry_site'):
            batch.drop_column(column)
