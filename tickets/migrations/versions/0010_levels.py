"""levels: departments and their members, resolution targets per level, appointments;
a ticket's department, level due time, task-force alarm time and resolved_at


Existing data stays: the new ticket columns are nullable; `resolved_at` of a ticket
that is already resolved or closed is filled from its history (the last change of
its status to resolved or closed), else from its last update.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tickets.migrations import _ops

revision = '0010'
down_revision = '0009'


def upgrade() -> None:
    _ops.table(
        'departments',
        sa.Column('name', sa.String(100), nullable=False, unique=True),
        sa.Column('description', sa.String(300), nullable=False),
    )
    _ops.table(
        'department_members',
        sa.Column('department_id', sa.Integer(), sa.ForeignKey('departments.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('username', sa.String(64), nullable=False),
        sa.UniqueConstraint('department_id', 'username', name='uq_department_members'),
    )
    op.create_index('ix_department_members_department_id', 'department_members', ['department_id'])
    op.create_index('ix_department_members_username', 'department_members', ['username'])
    _ops.table(
        'resolution_targets',
        sa.Column('organisation_id', sa.Integer(), sa.ForeignKey('organisations.id', ondelete='CASCADE'),
                  nullable=True),
        sa.Column('priority', sa.String(20), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('hours', sa.Float(), nullable=False),
        sa.UniqueConstraint('organisation_id', 'priority', 'level', name='uq_resolution_targets'),
    )
    _ops.table(
        'appointments',
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('place', sa.String(300), nullable=False),
        sa.Column('technician', sa.String(64), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('booked_by', sa.String(100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_appointments_ticket_id', 'appointments', ['ticket_id'])
    op.create_index('ix_appointments_technician_start', 'appointments', ['technician', 'starts_at'])
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('level_due_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('taskforce_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key('fk_tickets_department_id', 'departments', ['department_id'], ['id'])
    op.create_index('ix_tickets_department_id', 'tickets', ['department_id'])
    op.create_index('ix_tickets_level_due_at', 'tickets', ['level_due_at'])
    op.create_index('ix_tickets_due_at', 'tickets', ['due_at'])
    op.execute(
        "UPDATE tickets SET resolved_at = COALESCE("
        " (SELECT MAX(h.at) FROM ticket_history h WHERE h.ticket_id = tickets.id AND h.field = 'status'"
        "  AND h.new IN ('resolved', 'closed')), tickets.updated_at)"
        " WHERE status IN ('resolved', 'closed')")


def downgrade() -> None:
    op.drop_index('ix_tickets_due_at', 'tickets')
    op.drop_index('ix_tickets_level_due_at', 'tickets')
    op.drop_index('ix_tickets_department_id', 'tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_constraint('fk_tickets_department_id', type_='foreignkey')
        for column in ('resolved_at', 'taskforce_at', 'level_due_at', 'department_id'):
            batch.drop_column(column)
    op.drop_table('appointments')
    op.drop_table('resolution_targets')
    op.drop_table('department_members')
    op.drop_table('departments')
