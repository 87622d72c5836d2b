"""sites: call identity is (site, linkedid); users and their phones belong to a site and a partner

Every existing row gets site `main` (the server default), so a desk that ran one
Asterisk keeps all it had; the unique keys on linkedid become (site, linkedid) on
call records, tickets and callback items, and a plain index on linkedid stays for
lookups by the bare Linkedid. Users get `partner` 'in-house'.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'

# 0001 left the tickets' unique key unnamed: PostgreSQL calls it tickets_linkedid_key; on
# SQLite batch mode needs a naming convention to find it by name
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _site() -> sa.Column[str]:
    return sa.Column('site', sa.String(32), nullable=False, server_default='main')


def _old_ticket_key() -> str:
    return 'tickets_linkedid_key' if op.get_bind().dialect.name == 'postgresql' else 'uq_tickets_linkedid'


def upgrade() -> None:
    with op.batch_alter_table('call_records') as batch:
        batch.add_column(_site())
        batch.drop_constraint('uq_call_records_linkedid', type_='unique')
        batch.create_unique_constraint('uq_call_records_site_linkedid', ['site', 'linkedid'])
        batch.create_index('ix_call_records_linkedid', ['linkedid'])
    with op.batch_alter_table('tickets', naming_convention=_SQLITE_NAMES) as batch:
        batch.add_column(_site())
        batch.drop_constraint(_old_ticket_key(), type_='unique')
        batch.create_unique_constraint('uq_tickets_site_linkedid', ['site', 'linkedid'])
        batch.create_index('ix_tickets_linkedid', ['linkedid'])
    with op.batch_alter_table('callbacks') as batch:
        batch.add_column(_site())
        batch.drop_constraint('uq_callbacks_linkedid', type_='unique')
        batch.create_unique_constraint('uq_callbacks_site_linkedid', ['site', 'linkedid'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(_site())
        batch.add_column(sa.Column('partner', sa.String(100), nullable=False, server_default='in-house'))


def downgrade() -> None:
    """Only possible while no Linkedid is at two sites (the old unique keys come back)."""
    with op.batch_alter_table('users') as batch:
        batch.drop_column('partner')
        batch.drop_column('site')
    with op.batch_alter_table('callbacks') as batch:
        batch.drop_constraint('uq_callbacks_site_linkedid', type_='unique')
        batch.create_unique_constraint('uq_callbacks_linkedid', ['linkedid'])
        batch.drop_column('site')
    with op.batch_alter_table('tickets', naming_convention=_SQLITE_NAMES) as batch:
        batch.drop_index('ix_tickets_linkedid')
        batch.drop_constraint('uq_tickets_site_linkedid', type_='unique')
        batch.create_unique_constraint(_old_ticket_key(), ['linkedid'])
        batch.drop_column('site')
    with op.batch_alter_table('call_records') as batch:
        batch.drop_index('ix_call_records_linkedid')
        batch.drop_constraint('uq_call_records_site_linkedid', type_='unique')
        batch.create_unique_constraint('uq_call_records_linkedid', ['linkedid'])
        batch.drop_column('site')
