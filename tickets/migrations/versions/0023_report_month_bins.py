"""report month bins: a month's time-to-resolve histogram per group as one packed value

A year's report by organisation read about one histogram row per resolved ticket
(500 organisations, their tickets' bins rarely shared) and ranked them: seconds at the
corporate desk's scale. `report_agg_month_bins` holds each month's histogram of one
key (dim, value, level, priority) packed (tickets.report_agg_pick). The month roll-ups
are emptied so the next catch-up (or `hotline reports rebuild`) rolls every ended month
up again with its packed histograms; until then reports read the day rows.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'


def upgrade() -> None:
    op.create_table(
        'report_agg_month_bins',
        sa.Column('day', sa.Date(), primary_key=True), sa.Column('dim', sa.String(20), primary_key=True),
        sa.Column('value', sa.String(200), primary_key=True), sa.Column('level', sa.String(4), primary_key=True),
        sa.Column('priority', sa.String(10), primary_key=True), sa.Column('data', sa.LargeBinary(), nullable=False))
    op.create_index('ix_report_agg_month_bins_dim_day', 'report_agg_month_bins', ['dim', 'day'])
    for table in ('report_agg_months', 'report_agg_month_resolve', 'report_agg_month'):
        op.execute(sa.text(f'DELETE FROM {table}'))


def downgrade() -> None:
    op.drop_table('report_agg_month_bins')
