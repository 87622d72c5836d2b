"""call records by number and end, and by number and entry: a busy number's calls

- A call's write marks the report hours of the earlier tickets from the same number whose
  first-contact resolution it can undo, bounded by the number's previous answered call
  (tickets.report_agg_marks): both lookups seek on (caller_number, ended_at).
- A pop shows the caller's newest calls (tickets.pop_history, tickets.desk): a seek on
  (caller_number, entered_at) in the order they are listed (newest first, calls without
  an entry time last; PostgreSQL needs that order spelled out, SQLite's DESC is it).
With the index on caller_number alone a number that calls all day (a switchboard's) was
read whole at every call and every pop.
"""
from __future__ import annotations

from alembic import op

revision = '0027'
down_revision = '0026'


def upgrade() -> None:
    op.create_index('ix_call_records_number_ended', 'call_records', ['caller_number', 'ended_at'])
    op.create_index('ix_call_records_number_entered', 'call_records', ['caller_number', 'entered_at', 'id'],
                    postgresql_ops={'entered_at': 'DESC NULLS LAST', 'id': 'DESC'})


def downgrade() -> None:
    op.drop_index('ix_call_records_number_entered', 'call_records')
    op.drop_index('ix_call_records_number_ended', 'call_records')
