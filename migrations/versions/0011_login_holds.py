"""Login holds: the table of migration 0008 renamed from ``login_claims`` to ``login_holds``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

A row holds an account from a login's throttle check to its outcome, or until
it expires. "Claim" now means a JWT claim and nothing else, so the table takes
the word "hold", and on PostgreSQL so does its primary key constraint (with the
index behind it). SQLite keeps the constraint's old name inside the table's
definition, where nothing refers to it. Rows, and on PostgreSQL the service
role's privileges (migration 0006), stay with the renamed table.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.rename_table('login_claims', 'login_holds')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE login_holds RENAME CONSTRAINT pk_login_claims TO pk_login_holds')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE login_holds RENAME CONSTRAINT pk_login_holds TO pk_login_claims')
    op.rename_table('login_holds', 'login_claims')
