"""Login claims: one attempt at a time on an account, from its throttle check to its outcome.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

The claim used to be a PostgreSQL transaction-level advisory lock (and, on
SQLite, the write lock), which the login's first unit of work released before
the password was checked; a row outlives that unit of work and ends with the
attempt's outcome, or expires. The service role reaches it through the default
privileges of migration 0006.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_claims',
    sa.Column('key', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_claims'))
    )


def downgrade() -> None:
    op.drop_table('login_claims')
