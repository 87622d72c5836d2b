"""report aggregates: sums per local day and group, time-to-resolve histograms, dirty hours, rules

The tables start empty and without rules (no `report_agg_meta` row): reports read raw
rows until the first catch-up (`hotline serve` runs one every minute, and before a report)
builds them from the existing calls and tickets with the configured rules; on a large
database run `hotline reports rebuild` once after upgrading. The migration does not build
them itself: it would run the app's current models against a schema that later migrations
(0016 added `site`) have not reached yet.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'

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
        'report_agg', *keys(),
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
    op.create_index('ix_report_agg_dim_day', 'report_agg', ['dim', 'day'])
    op.create_table(
        'report_agg_resolve', *keys(),
        sa.Column('level', sa.String(4), primary_key=True), sa.Column('priority', sa.String(10), primary_key=True),
        sa.Column('bin', sa.Integer(), primary_key=True), sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('total', sa.Float(), nullable=False), sa.Column('lo', sa.Float(), nullable=False),
        sa.Column('hi', sa.Float(), nullable=False))
    op.create_index('ix_report_agg_resolve_dim_day', 'report_agg_resolve', ['dim', 'day'])
    op.create_table('report_agg_dirty', sa.Column('hour', _TIME, primary_key=True),
                    sa.Column('version', sa.Integer(), nullable=False))
    op.create_table('report_agg_meta', sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('tz', sa.String(64), nullable=False), sa.Column('threshold', sa.Integer(), nullable=False),
                    sa.Column('short_abandon', sa.Integer(), nullable=False),
                    sa.Column('fcr_days', sa.Integer(), nullable=False),
                    sa.Column('fcr_after_call_minutes', sa.Integer(), nullable=False),
                    sa.Column('built_at', _TIME, nullable=False))


def downgrade() -> None:
    for table in ('report_agg_meta', 'report_agg_dirty', 'report_agg_resolve', 'report_agg'):
        op.drop_table(table)
