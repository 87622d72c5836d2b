"""intake: mails and form entries on tickets, their attachments; a ticket's organisation; the notification outbox

`ticket_messages.message_id` is unique so that a mail delivered twice (the MTA
did not see our 250) is stored once. Attachments live in the database, written
in the same transaction as their message. `notifications` is the outbox of mails
to callers: written with the ticket change, claimed and sent by the sender task.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tickets.migrations import _ops

revision = '0008'
down_revision = '0007'

_CHANNEL = sa.Enum('phone', 'email', 'fax', 'form', 'web', name='channel', native_enum=False, length=20)


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_tickets_organisation_id', 'organisations', ['organisation_id'], ['id'])
    _ops.table(
        'ticket_messages',
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=False),
        sa.Column('channel', _CHANNEL, nullable=False),
        sa.Column('message_id', sa.String(255), nullable=True, unique=True),
        sa.Column('references', sa.Text(), nullable=False),
        sa.Column('sender', sa.String(254), nullable=False),
        sa.Column('sender_name', sa.String(200), nullable=False),
        sa.Column('subject', sa.String(300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_ticket_messages_ticket_id', 'ticket_messages', ['ticket_id'])
    _ops.table(
        'attachments',
        sa.Column('message_id', sa.Integer(), sa.ForeignKey('ticket_messages.id'), nullable=False),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=False),
        sa.Column('filename', sa.String(255), nullable=False),
        sa.Column('content_type', sa.String(100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
    )
    op.create_index('ix_attachments_message_id', 'attachments', ['message_id'])
    op.create_index('ix_attachments_ticket_id', 'attachments', ['ticket_id'])
    _ops.table(
        'notifications',
        sa.Column('key', sa.String(100), nullable=False, unique=True),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=False),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('to_address', sa.String(254), nullable=False),
        sa.Column('language', sa.String(10), nullable=False),
        sa.Column('subject', sa.String(400), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('message_id', sa.String(255), nullable=False, unique=True),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_notifications_ticket_id', 'notifications', ['ticket_id'])
    op.create_index('ix_notifications_status', 'notifications', ['status'])


def downgrade() -> None:
    op.drop_table('notifications')
    op.drop_table('attachments')
    op.drop_table('ticket_messages')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_constraint('fk_tickets_organisation_id', type_='foreignkey')
        batch.drop_column('organisation_id')
