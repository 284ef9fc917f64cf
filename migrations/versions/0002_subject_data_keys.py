"""Subject data keys: each data subject's DEK, wrapped by a KEK version.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('subject_keys',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kek_version', sa.Integer(), nullable=True),
    sa.Column('wrapped', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('destroyed_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_keys')),
    sa.UniqueConstraint('subject_id', name=op.f('uq_subject_keys_subject_id'))
    )
    op.create_index('ix_subject_keys_kek_version', 'subject_keys', ['kek_version'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_subject_keys_kek_version', table_name='subject_keys')
    op.drop_table('subject_keys')
