"""Approvals: a shop's operation, confirmed with the subject's second factor, its token used once.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08

The operation's details are encrypted under the subject's data key, as the
other personal columns are; ``token_id`` is the approval token's ``jti``,
unique, so a token consumes exactly one approval.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from privacy_service.core.types import UTCDateTime

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'approvals',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('client_id', sa.String(length=26), nullable=False),
        sa.Column('subject_id', sa.String(length=26), nullable=False),
        sa.Column('action', sa.String(length=100), nullable=False),
        sa.Column('target_type', sa.String(length=32), nullable=False),
        sa.Column('target_id', sa.String(length=64), nullable=False),
        sa.Column('details', sa.LargeBinary(), nullable=True),
        sa.Column('operation_digest', sa.String(length=71), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('wrong_codes', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('approved_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('token_id', sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_approvals_client_id_clients')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals')),
        sa.UniqueConstraint('token_id', name=op.f('uq_approvals_token_id')),
    )
    op.create_index(op.f('ix_approvals_client_id'), 'approvals', ['client_id'], unique=False)
    op.create_index(op.f('ix_approvals_subject_id'), 'approvals', ['subject_id'], unique=False)
    op.create_index(op.f('ix_approvals_status_expires_at'), 'approvals', ['status', 'expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_approvals_status_expires_at'), table_name='approvals')
    op.drop_index(op.f('ix_approvals_subject_id'), table_name='approvals')
    op.drop_index(op.f('ix_approvals_client_id'), table_name='approvals')
    op.drop_table('approvals')
