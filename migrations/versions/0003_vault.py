"""Vault: data subjects, their profiles and their records, every personal value a ciphertext column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('subjects',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('email_index', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subjects')),
    sa.UniqueConstraint('email_index', name=op.f('uq_subjects_email_index'))
    )
    op.create_table('personal_records',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('subject_id', sa.String(length=26), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_personal_records_subject_id_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_records')),
    sa.UniqueConstraint('subject_id', 'category', name=op.f('uq_personal_records_subject_id_category'))
    )
    op.create_table('profiles',
    sa.Column('subject_id', sa.String(length=26), nullable=False),
    sa.Column('email', sa.LargeBinary(), nullable=False),
    sa.Column('given_name', sa.LargeBinary(), nullable=True),
    sa.Column('family_name', sa.LargeBinary(), nullable=True),
    sa.Column('phone', sa.LargeBinary(), nullable=True),
    sa.Column('country', sa.LargeBinary(), nullable=True),
    sa.Column('locale', sa.LargeBinary(), nullable=True),
    sa.Column('extra', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_profiles_subject_id_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_profiles'))
    )


def downgrade() -> None:
    op.drop_table('profiles')
    op.drop_table('personal_records')
    op.drop_table('subjects')
