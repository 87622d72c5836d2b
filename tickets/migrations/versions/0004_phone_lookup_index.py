"""phones: one covering index for the caller lookup

The lookup reads (normalized, kind, contact_id, organisation_id) of the rows whose
normalized is the number or one of its prefixes; with all four in the index
PostgreSQL and SQLite answer it from the index without visiting the table's rows.
The index on normalized alone is its prefix, so it goes.
"""
from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    op.create_index('ix_phones_lookup', 'phones', ['normalized', 'kind', 'contact_id', 'organisation_id'])
    op.drop_index('ix_phones_normalized', table_name='phones')


def downgrade() -> None:
    op.create_index('ix_phones_normalized', 'phones', ['normalized'])
    op.drop_index('ix_phones_lookup', table_name='phones')
