"""routing: VIP flags, agents' spoken languages, the route a call took

Routing by the caller-ID match (tickets/routing.py): contacts and organisations
get a `vip` flag (a priority bump in the queue), users the languages they speak
with callers (`languages`, "de", "en" or "de,en"; `language` stays the pages'
language), and a call record the route the FastAGI `route` script chose and why.
Contacts get an index on organisation_id: a call from an organisation's switchboard
asks whether any of its contacts has an open critical ticket.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'


def upgrade() -> None:
    false = sa.false()
    with op.batch_alter_table('organisations') as batch:
        batch.add_column(sa.Column('vip', sa.Boolean(), nullable=False, server_default=false))
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('vip', sa.Boolean(), nullable=False, server_default=false))
    op.create_index('ix_contacts_organisation_id', 'contacts', ['organisation_id'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('languages', sa.String(length=20), nullable=False, server_default='de'))
    with op.batch_alter_table('call_records') as batch:
        batch.add_column(sa.Column('route_reason', sa.String(length=20), nullable=False, server_default=''))
        batch.add_column(sa.Column('route_team', sa.String(length=100), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('call_records') as batch:
        batch.drop_column('route_team')
        batch.drop_column('route_reason')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('languages')
    op.drop_index('ix_contacts_organisation_id', table_name='contacts')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('vip')
    with op.batch_alter_table('organisations') as batch:
        batch.drop_column('vip')
