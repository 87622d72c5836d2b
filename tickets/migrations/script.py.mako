"""${message}"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tickets.models
from tickets.migrations import _ops

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
