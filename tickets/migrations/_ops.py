"""What the migrations in versions/ share: the `id` key, the UTC timestamp column
and the per-column indexes.

Layer: storage (imported by tickets/migrations/versions only). Each helper emits
exactly the operations of the lines it replaced, so the schema the chain builds is
unchanged (a fresh upgrade's SQLite and PostgreSQL schema compared before and after).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from tickets.models import UtcDateTime


def table(name: str, *items: SchemaItem) -> None:
    """A table whose first column is the integer primary key `id`."""
    op.create_table(name, sa.Column("id", sa.Integer(), primary_key=True), *items)


def moment(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A point in time, stored as UTC (tickets.models.UtcDateTime)."""
    return sa.Column(name, UtcDateTime(timezone=True), nullable=nullable)


def create_indexes(table: str, *columns: str) -> None:
    """One non-unique index `ix_<table>_<column>` per column, in this order."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def drop_indexes(table: str, *columns: str) -> None:
    """Drop the indexes create_indexes made, in this order."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
