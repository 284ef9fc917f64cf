"""Callback receipts keyed by system, and revoked access tokens.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A ``webhook-id`` was refused only when presented again for the same task, so
a callback captured on its way to one task could be replayed, byte for byte,
to another task of the same system. Receipts are now keyed by the system and
the ``webhook-id``: one id, one callback, across all of a system's tasks.
Receipts that the old key let in twice for one system keep their earliest
task (the others only ever refused replays of what already completed).

Access tokens revoked through RFC 7009 are kept by ``jti`` until they would
have expired. The service role reaches the new table through the default
privileges of migration 0006.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = privacy_service.core.types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table('dsr_callback_receipts') as batch:
        batch.add_column(sa.Column('system', sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE dsr_callback_receipts SET system = "
        "(SELECT dsr_tasks.system FROM dsr_tasks WHERE dsr_tasks.id = dsr_callback_receipts.task_id)"
    )
    op.execute(
        "DELETE FROM dsr_callback_receipts WHERE EXISTS ("
        "SELECT 1 FROM dsr_callback_receipts AS earlier "
        "WHERE earlier.system = dsr_callback_receipts.system "
        "AND earlier.webhook_id = dsr_callback_receipts.webhook_id "
        "AND (earlier.received_at < dsr_callback_receipts.received_at "
        "OR (earlier.received_at = dsr_callback_receipts.received_at "
        "AND earlier.task_id < dsr_callback_receipts.task_id)))"
    )
    with op.batch_alter_table('dsr_callback_receipts') as batch:
        batch.alter_column('system', existing_type=sa.String(length=64), nullable=False)
        batch.drop_constraint('pk_dsr_callback_receipts', type_='primary')
        batch.create_primary_key('pk_dsr_callback_receipts', ['system', 'webhook_id'])
        batch.create_index(batch.f('ix_dsr_callback_receipts_task_id'), ['task_id'], unique=False)

    op.create_table('revoked_access_tokens',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('expires_at', UTC(timezone=True), nullable=False),
    sa.Column('revoked_at', UTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_revoked_access_tokens'))
    )
    op.create_index(op.f('ix_revoked_access_tokens_expires_at'), 'revoked_access_tokens', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_revoked_access_tokens_expires_at'), table_name='revoked_access_tokens')
    op.drop_table('revoked_access_tokens')
    with op.batch_alter_table('dsr_callback_receipts') as batch:
        batch.drop_index(batch.f('ix_dsr_callback_receipts_task_id'))
        batch.drop_constraint('pk_dsr_callback_receipts', type_='primary')
        batch.create_primary_key('pk_dsr_callback_receipts', ['task_id', 'webhook_id'])
        batch.drop_column('system')
