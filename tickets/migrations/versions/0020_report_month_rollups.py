"""report month roll-ups: the day aggregates summed per local month, for long periods

`report_agg_month` and `report_agg_month_resolve` have the columns of `report_agg` and
`report_agg_resolve`, `day` being the first day of the month; `report_agg_months` lists
the months rolled up (a month not listed is read from the day rows). They start empty:
the next catch-up (or `hotline reports rebuild`) rolls up every month that has ended.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0018'

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    def keys() -> list[sa.Column[object]]:
        return [sa.Column('day', sa.Date(), primary_key=True), sa.Column('dim', sa.String(20), primary_key=True),
                sa.Column('value', sa.String(200), primary_key=True)]

    ints = ('calls_seen', 'offered', 'answered', 'answered_within', 'abandoned', 'abandoned_within',
            'short_abandons', 'timeouts')
    more = ('callbacks_offered', 'callbacks_done', 'requests', 'resolved')
    tickets = ('solved_level1', 'solved_level2', 'solved_level3', 'from_calls', 'fcr', 'fcr_manual', 'sla_met',
               'sla_judged', 'open_due')
    op.create_table(
        'report_agg_month', *keys(),
        sa.Column('queue', sa.String(64), primary_key=True), sa.Column('level', sa.String(4), primary_key=True),
        sa.Column('priority', sa.String(10), primary_key=True),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in ints),
        sa.Column('wait_answered', sa.Float(), nullable=False), sa.Column('talk_answered', sa.Float(), nullable=False),
        sa.Column('longest_wait', sa.Float(), nullable=True), sa.Column('agents', sa.String(60), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in more),
        sa.Column('resolve_seconds', sa.Float(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in tickets),
        sa.Column('open_due_min', _TIME, nullable=True), sa.Column('open_due_max', _TIME, nullable=True),
        sa.Column('csat_sum', sa.Integer(), nullable=False), sa.Column('csat_count', sa.Integer(), nullable=False))
    op.create_index('ix_report_agg_month_dim_day', 'report_agg_month', ['dim', 'day'])
    op.create_table(
        'report_agg_month_resolve', *keys(),
        sa.Column('level', sa.String(4), primary_key=True), sa.Column('priority', sa.String(10), primary_key=True),
        sa.Column('bin', sa.Integer(), primary_key=True), sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('total', sa.Float(), nullable=False), sa.Column('lo', sa.Float(), nullable=False),
        sa.Column('hi', sa.Float(), nullable=False))
    op.create_index('ix_report_agg_month_resolve_dim_day', 'report_agg_month_resolve', ['dim', 'day'])
    op.create_table('report_agg_months', sa.Column('day', sa.Date(), primary_key=True))


def downgrade() -> None:
    for table in ('report_agg_months', 'report_agg_month_resolve', 'report_agg_month'):
        op.drop_table(table)
