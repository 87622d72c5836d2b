"""Alembic environment: the URL comes from tickets.migrate (settings), never from a file."""

from __future__ import annotations

from alembic import context

from tickets.db import make_engine
from tickets.models import Base

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
