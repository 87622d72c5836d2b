"""callback: a virtual place in the queue on a callback item, and its ticket

A caller who presses 1 while waiting keeps a virtual place: `place_at` is when
they joined the queue (the order key against the real queue), `place_state`
waiting | dialing | done | given_up, with the attempts, the next try and the agent
being rung. Existing callback items get no place (`place_state` empty), as before.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'


def upgrade() -> None:
    with op.batch_alter_table('callbacks') as batch:
        batch.add_column(sa.Column('linkedid', sa.String(64), nullable=True))
        batch.add_column(sa.Column('ticket_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('place_state', sa.String(20), nullable=False, server_default=''))
        batch.add_column(sa.Column('place_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('place_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('place_not_before', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('place_dialing_since', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('place_agent', sa.String(64), nullable=False, server_default=''))
        batch.create_foreign_key('fk_callbacks_ticket_id', 'tickets', ['ticket_id'], ['id'])
        batch.create_unique_constraint('uq_callbacks_linkedid', ['linkedid'])
        batch.create_index('ix_callbacks_place_state', ['place_state'])


def downgrade() -> None:
    with op.batch_alter_table('callbacks') as batch:
        batch.drop_index('ix_callbacks_place_state')
        batch.drop_constraint('uq_callbacks_linkedid', type_='unique')
        batch.drop_constraint('fk_callbacks_ticket_id', type_='foreignkey')
        for name in ('place_agent', 'place_dialing_since', 'place_not_before', 'place_attempts',
                     'place_at', 'place_state', 'ticket_id', 'linkedid'):
            batch.drop_column(name)
