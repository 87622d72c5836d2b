"""report aggregates: sums per local day and group, time-to-resolve histograms, dirty hours, rules

Fills the aggregates from the existing calls, tickets and callbacks with the rules in
the environment (HOTLINE_TIMEZONE, HOTLINE_SERVICE_LEVEL_SECONDS,
HOTLINE_SHORT_ABANDON_SECONDS, HOTLINE_FCR_DAYS; the Settings defaults otherwise).
Reports with other rules read raw rows until `hotline reports rebuild`.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

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
    _fill()


def _fill() -> None:
    from tickets.report_agg_store import rebuild  # noqa: PLC0415 (the app's own aggregation)
    from tickets.report_facts import FcrRule  # noqa: PLC0415
    from tickets.report_figures import ReportRules  # noqa: PLC0415

    env = os.environ.get
    rules = ReportRules(threshold=int(env('HOTLINE_SERVICE_LEVEL_SECONDS', '25')),
                        short_abandon=int(env('HOTLINE_SHORT_ABANDON_SECONDS', '5')),
                        fcr=FcrRule(days=int(env('HOTLINE_FCR_DAYS', '7'))))
    with Session(bind=op.get_bind()) as s:
        rebuild(s, rules, env('HOTLINE_TIMEZONE', 'Europe/Berlin'), datetime.now(UTC))
        s.flush()


def downgrade() -> None:
    for table in ('report_agg_meta', 'report_agg_dirty', 'report_agg_resolve', 'report_agg'):
        op.drop_table(table)
