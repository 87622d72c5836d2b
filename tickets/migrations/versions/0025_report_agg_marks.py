"""report agg marks: insert-only dirty marks, so writers of several sites never queue on one hour's row

`report_agg_dirty` held one row per dirty hour, and every write transaction upserted
it (`version + 1`): on PostgreSQL the writers of all sites waited on that row's lock
for each hour (issue 15). `report_agg_marks` gets a new row per write and hour instead
(tickets.report_agg_models.ReportAggMark); the catch-up deletes an hour's rows before
it reads the hour. The hours still dirty are carried over.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('report_agg_marks',
                    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
                    sa.Column('hour', _TIME, nullable=False))
    op.create_index('ix_report_agg_marks_hour', 'report_agg_marks', ['hour'])
    op.execute(sa.text('INSERT INTO report_agg_marks (hour) SELECT hour FROM report_agg_dirty'))
    op.drop_table('report_agg_dirty')


def downgrade() -> None:
    op.create_table('report_agg_dirty', sa.Column('hour', _TIME, primary_key=True),
                    sa.Column('version', sa.Integer(), nullable=False))
    op.execute(sa.text('INSERT INTO report_agg_dirty (hour, version) SELECT DISTINCT hour, 1 FROM report_agg_marks'))
    op.drop_table('report_agg_marks')
