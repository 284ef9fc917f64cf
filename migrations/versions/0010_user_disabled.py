"""Disabled staff accounts: an operator ends an account's ability to sign in without erasing it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

``privacy-service admin disable`` sets ``users.disabled_at``; a login of a
disabled account is refused exactly as a wrong password is. The account, its
subject and its audit trail stay, so what the staff member did remains
attributable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'users', sa.Column('disabled_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # A plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of ``users`` would
    # drop the table, and with foreign keys on, cascade to every session and factor.
    op.drop_column('users', 'disabled_at')
