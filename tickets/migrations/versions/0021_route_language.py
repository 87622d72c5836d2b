"""route language: the call record keeps the route's language and priority bump

The FastAGI `route` script's choice was kept as reason and focus team only; the
language it routed in (the agents who speak it) and why the caller was moved up
(`vip`, `critical_ticket`, "" = not moved up) belong to "which route and why" too.
Existing records keep "" (not known then).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'


def upgrade() -> None:
    with op.batch_alter_table('call_records') as batch:
        batch.add_column(sa.Column('route_language', sa.String(length=10), nullable=False, server_default=''))
        batch.add_column(sa.Column('route_priority_reason', sa.String(length=20), nullable=False,
                                   server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('call_records') as batch:
        batch.drop_column('route_priority_reason')
        batch.drop_column('route_language')
