"""Notices to the subject, extensions of a request's deadline, and ended requests by end date.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

``dsr_notices`` is the record that a subject was told (acknowledged,
extended, rejected, completed); its message is sealed under a data key of its
own and dropped once delivered. ``dsr_notice_deliveries`` is its outbox, one
row per notice system, leased and retried as ``dsr_tasks`` are. A request
records who extended it, when, and why (encrypted under the subject's key).
The index on ``(status, completed_at)`` serves the purge of ended requests
once they have been kept long enough.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from privacy_service.core.types import UTCDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dsr_requests') as batch:
        batch.add_column(sa.Column('extended_at', UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('extended_by', sa.String(length=26), nullable=True))
        batch.add_column(sa.Column('extension_reason', sa.LargeBinary(), nullable=True))
    op.create_index(
        op.f('ix_dsr_requests_status_completed_at'), 'dsr_requests', ['status', 'completed_at'], unique=False
    )
    op.create_table(
        'dsr_notices',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('request_id', sa.String(length=26), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('key_owner', sa.String(length=64), nullable=True),
        sa.Column('message', sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ['request_id'], ['dsr_requests.id'], name=op.f('fk_dsr_notices_request_id_dsr_requests'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dsr_notices')),
        sa.UniqueConstraint('key_owner', name=op.f('uq_dsr_notices_key_owner')),
        sa.UniqueConstraint('request_id', 'kind', name=op.f('uq_dsr_notices_request_id_kind')),
    )
    op.create_index(op.f('ix_dsr_notices_request_id'), 'dsr_notices', ['request_id'], unique=False)
    op.create_table(
        'dsr_notice_deliveries',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('notice_id', sa.String(length=26), nullable=False),
        sa.Column('system', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('webhook_id', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('delivered_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['notice_id'], ['dsr_notices.id'], name=op.f('fk_dsr_notice_deliveries_notice_id_dsr_notices'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dsr_notice_deliveries')),
        sa.UniqueConstraint('notice_id', 'system', name=op.f('uq_dsr_notice_deliveries_notice_id_system')),
        sa.UniqueConstraint('webhook_id', name=op.f('uq_dsr_notice_deliveries_webhook_id')),
    )
    op.create_index(
        op.f('ix_dsr_notice_deliveries_notice_id'), 'dsr_notice_deliveries', ['notice_id'], unique=False
    )
    op.create_index(
        op.f('ix_dsr_notice_deliveries_status_next_attempt_at'),
        'dsr_notice_deliveries', ['status', 'next_attempt_at'], unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_dsr_notice_deliveries_status_next_attempt_at'), table_name='dsr_notice_deliveries')
    op.drop_index(op.f('ix_dsr_notice_deliveries_notice_id'), table_name='dsr_notice_deliveries')
    op.drop_table('dsr_notice_deliveries')
    op.drop_index(op.f('ix_dsr_notices_request_id'), table_name='dsr_notices')
    op.drop_table('dsr_notices')
    op.drop_index(op.f('ix_dsr_requests_status_completed_at'), table_name='dsr_requests')
    with op.batch_alter_table('dsr_requests') as batch:
        batch.drop_column('extension_reason')
        batch.drop_column('extended_by')
        batch.drop_column('extended_at')
