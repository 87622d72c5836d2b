"""reports: settings an admin changes at run time, and the audit trail of those changes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

`desk_settings` holds switches that must survive a restart and be the same on
every web instance (first: whether reports may show per-agent figures, off by
default); `audit_events` records who changed one, when, from what to what.
No existing table changes, so existing data stays as it is.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'desk_settings',
        sa.Column('key', sa.String(64), primary_key=True),
        sa.Column('value', sa.String(200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(100), nullable=False),
    )
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), primary_key=True),
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
