"""reports: settings an admin changes at run time, and the audit trail of those changes

`desk_settings` holds switches that must survive a restart and be the same on
every web instance (first: whether reports may show per-agent figures, off by
default); `audit_events` records who changed one, when, from what to what.
No existing table changes, so existing data stays as it is.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tickets.migrations import _ops

revision = '0009'
down_revision = '0008'


def upgrade() -> None:
    op.create_table(
        'desk_settings',
        sa.Column('key', sa.String(64), primary_key=True),
        sa.Column('value', sa.String(200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(100), nullable=False),
    )
    _ops.table(
        'audit_events',
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(100), nullable=False),
        sa.Column('action', sa.String(64), nullable=False),
        sa.Column('old', sa.String(200), nullable=False),
        sa.Column('new', sa.String(200), nullable=False),
    )
    op.create_index('ix_audit_events_at', 'audit_events', ['at'])


def downgrade() -> None:
    op.drop_index('ix_audit_events_at', 'audit_events')
    op.drop_table('audit_events')
    op.drop_table('desk_settings')
