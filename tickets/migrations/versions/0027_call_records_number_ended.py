"""call records by number and end: the report marks' FCR neighbours of a call

A call's write marks the report hours of the earlier tickets from the same number whose
first-contact resolution it can undo, bounded by the number's previous answered call
(tickets.report_agg_marks). Both lookups seek on (caller_number, ended_at); with the
index on caller_number alone a number that calls all day was scanned whole at every call.
"""
from __future__ import annotations

from alembic import op

revision = '0027'
down_revision = '0026'


def upgrade() -> None:
    op.create_index('ix_call_records_number_ended', 'call_records', ['caller_number', 'ended_at'])


def downgrade() -> None:
    op.drop_index('ix_call_records_number_ended', 'call_records')
