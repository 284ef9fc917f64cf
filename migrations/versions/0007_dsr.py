"""Data subject requests: requests, their tasks (the outbox), callback receipts, downstream systems, exports, erasures.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = privacy_service.core.types.UTCDateTime


def upgrade() -> None:
    op.create_table('dsr_requests',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=26), nullable=False),
    sa.Column('jurisdiction', sa.String(length=64), nullable=False),
    sa.Column('received_at', UTC(timezone=True), nullable=False),
    sa.Column('due_at', UTC(timezone=True), nullable=False),
    sa.Column('extended', sa.Boolean(), nullable=False),
    sa.Column('filed_by_type', sa.String(length=16), nullable=False),
    sa.Column('filed_by_id', sa.String(length=26), nullable=False),
    sa.Column('client_id', sa.String(length=26), nullable=False),
    sa.Column('decided_by', sa.String(length=26), nullable=True),
    sa.Column('decided_at', UTC(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.String(length=32), nullable=True),
    sa.Column('rejection_detail', sa.LargeBinary(), nullable=True),
    sa.Column('completed_at', UTC(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dsr_requests'))
    )
    op.create_index('ix_dsr_requests_status_due_at', 'dsr_requests', ['status', 'due_at'], unique=False)
    op.create_index(op.f('ix_dsr_requests_subject_id'), 'dsr_requests', ['subject_id'], unique=False)
    op.create_index(op.f('ix_dsr_requests_client_id'), 'dsr_requests', ['client_id'], unique=False)
    op.create_table('dsr_tasks',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('request_id', sa.String(length=26), nullable=False),
    sa.Column('system', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('webhook_id', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTC(timezone=True), nullable=False),
    sa.Column('lease_until', UTC(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('accepted_at', UTC(timezone=True), nullable=True),
    sa.Column('completed_at', UTC(timezone=True), nullable=True),
    sa.Column('result', sa.LargeBinary(), nullable=True),
    sa.Column('retained', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['dsr_requests.id'], name=op.f('fk_dsr_tasks_request_id_dsr_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dsr_tasks')),
    sa.UniqueConstraint('request_id', 'system', name=op.f('uq_dsr_tasks_request_id_system')),
    sa.UniqueConstraint('webhook_id', name=op.f('uq_dsr_tasks_webhook_id'))
    )
    op.create_index('ix_dsr_tasks_status_next_attempt_at', 'dsr_tasks', ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_dsr_tasks_request_id'), 'dsr_tasks', ['request_id'], unique=False)
    op.create_table('dsr_callback_receipts',
    sa.Column('task_id', sa.String(length=26), nullable=False),
    sa.Column('webhook_id', sa.String(length=200), nullable=False),
    sa.Column('received_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['dsr_tasks.id'], name=op.f('fk_dsr_callback_receipts_task_id_dsr_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'webhook_id', name=op.f('pk_dsr_callback_receipts'))
    )
    op.create_table('downstream_systems',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key_owner', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=False),
    sa.Column('request_types', sa.String(length=100), nullable=False),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('timeout_seconds', sa.Float(), nullable=False),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_downstream_systems')),
    sa.UniqueConstraint('key_owner', name=op.f('uq_downstream_systems_key_owner'))
    )
    op.create_table('dsr_exports',
    sa.Column('request_id', sa.String(length=26), nullable=False),
    sa.Column('subject_id', sa.String(length=26), nullable=False),
    sa.Column('bundle', sa.LargeBinary(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.Column('expires_at', UTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['dsr_requests.id'], name=op.f('fk_dsr_exports_request_id_dsr_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_dsr_exports'))
    )
    op.create_index(op.f('ix_dsr_exports_expires_at'), 'dsr_exports', ['expires_at'], unique=False)
    op.create_table('erasure_records',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('request_id', sa.String(length=26), nullable=True),
    sa.Column('erased_at', UTC(timezone=True), nullable=False),
    sa.Column('subject_digest', sa.LargeBinary(), nullable=False),
    sa.Column('email_digest', sa.LargeBinary(), nullable=True),
    sa.Column('journaled_at', UTC(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_records'))
    )
    op.create_index(op.f('ix_erasure_records_erased_at'), 'erasure_records', ['erased_at'], unique=False)
    op.create_index(op.f('ix_erasure_records_journaled_at'), 'erasure_records', ['journaled_at'], unique=False)
    op.create_index(op.f('ix_erasure_records_subject_digest'), 'erasure_records', ['subject_digest'], unique=False)


def downgrade() -> None:
    op.drop_table('erasure_records')
    op.drop_table('dsr_exports')
    op.drop_table('downstream_systems')
    op.drop_table('dsr_callback_receipts')
    op.drop_table('dsr_tasks')
    op.drop_table('dsr_requests')
