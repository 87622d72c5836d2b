"""call records written: which write last touched a call record, in commit order

The sites' board re-read every call record of the day every 5 s on every instance
(issue 15). `call_records.written` lets it read only the records written since its
last read (tickets.reports.FinishedToday); a trigger sets it on every insert and
update, whoever writes (bridges, reconciliation, the overflow join, imports):
- PostgreSQL: the writing transaction's id. A reader first takes the oldest
  transaction id still running (`pg_snapshot_xmin`): every write of a lower id has
  ended by then, so its next read from there misses no commit, however late.
- SQLite (one writer at a time): the highest value stored + 1, so values grow in
  commit order; a reader first takes the highest + 1.
Existing rows get 0 (the board's first read of a day reads the day in full).
PostgreSQL 13 or later (`pg_current_xact_id`, `pg_snapshot_xmin`).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'

_SQLITE_NEXT = "UPDATE call_records SET written = (SELECT coalesce(max(written), 0) + 1 FROM call_records) " \
               "WHERE id = NEW.id"


def upgrade() -> None:
    op.add_column('call_records', sa.Column('written', sa.BigInteger(), nullable=False, server_default='0'))
    op.create_index('ix_call_records_written', 'call_records', ['written'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(sa.text(
            "CREATE FUNCTION call_records_written() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN NEW.written := pg_current_xact_id()::text::bigint; RETURN NEW; END $$"))
        op.execute(sa.text("CREATE TRIGGER call_records_written BEFORE INSERT OR UPDATE ON call_records "
                           "FOR EACH ROW EXECUTE FUNCTION call_records_written()"))
    else:  # AFTER: SQLite's triggers cannot set NEW; the WHEN stops the trigger's own update
        op.execute(sa.text(f"CREATE TRIGGER call_records_written_insert AFTER INSERT ON call_records "
                           f"BEGIN {_SQLITE_NEXT}; END"))
        op.execute(sa.text(f"CREATE TRIGGER call_records_written_update AFTER UPDATE ON call_records "
                           f"WHEN NEW.written = OLD.written BEGIN {_SQLITE_NEXT}; END"))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(sa.text("DROP TRIGGER call_records_written ON call_records"))
        op.execute(sa.text("DROP FUNCTION call_records_written()"))
    else:
        op.execute(sa.text("DROP TRIGGER call_records_written_insert"))
        op.execute(sa.text("DROP TRIGGER call_records_written_update"))
    op.drop_index('ix_call_records_written', 'call_records')
    op.drop_column('call_records', 'written')
