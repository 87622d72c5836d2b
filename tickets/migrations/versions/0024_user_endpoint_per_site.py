"""user endpoint per site: a phone endpoint is unique at its site, not across all sites

Each site is its own Asterisk with its own extensions, so PJSIP/1001 at site `main`
and PJSIP/1001 at site `b` are two phones (`hotline up --sites 3` runs 1001-1003 at
every site). The unique key on users.endpoint becomes (site, endpoint); every row is
kept as it is (0016 put them all at site `main`, where they were unique already).
"""
from __future__ import annotations

from alembic import op

revision = '0024'
down_revision = '0023'

# 0002 left the users' unique keys unnamed: PostgreSQL calls it users_endpoint_key; on
# SQLite batch mode needs a naming convention to find it by name (as in 0016)
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_endpoint_key() -> str:
    return 'users_endpoint_key' if op.get_bind().dialect.name == 'postgresql' else 'uq_users_endpoint'


def upgrade() -> None:
    with op.batch_alter_table('users', naming_convention=_SQLITE_NAMES) as batch:
        batch.drop_constraint(_old_endpoint_key(), type_='unique')
        batch.create_unique_constraint('uq_users_site_endpoint', ['site', 'endpoint'])


def downgrade() -> None:
    """Only possible while no endpoint is at two sites (the old unique key comes back)."""
    with op.batch_alter_table('users', naming_convention=_SQLITE_NAMES) as batch:
        batch.drop_constraint('uq_users_site_endpoint', type_='unique')
        batch.create_unique_constraint(_old_endpoint_key(), ['endpoint'])
