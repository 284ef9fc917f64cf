"""Export bundles sealed as streams: a header on ``dsr_exports``, the segments in a table of their own.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

A bundle was one AES-GCM field in ``dsr_exports.bundle``, built, encrypted
and downloaded whole in memory. It is now a stream (``crypto/stream.py``):
``bundle`` holds the stream's header, ``dsr_export_segments`` its sealed
segments (deleted with their export), and ``segments`` how many there are.

**This drops the bundles of live exports.** A migration cannot open them (it
holds no key) to seal them again, so every stored bundle is deleted and its
export answers ``410 export_expired``, as one past its lifetime does; the
subject files a new access request for a fresh copy. Exports live
``PRIVACY_DSR_EXPORT_DAYS`` (7 by default), so this loses at most that many
days' worth of downloadable bundles. The downgrade does the same the other
way: a stream header is no bundle of the old format.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute('UPDATE dsr_exports SET bundle = NULL')
    op.add_column('dsr_exports', sa.Column('segments', sa.Integer(), server_default='0', nullable=False))
    op.create_table('dsr_export_segments',
    sa.Column('request_id', sa.String(length=26), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['dsr_exports.request_id'], name=op.f('fk_dsr_export_segments_request_id_dsr_exports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'seq', name=op.f('pk_dsr_export_segments'))
    )


def downgrade() -> None:
    op.drop_table('dsr_export_segments')
    # SQLite (3.35+) drops a column in place; batch mode would copy the table.
    op.execute('ALTER TABLE dsr_exports DROP COLUMN segments')
    op.execute('UPDATE dsr_exports SET bundle = NULL')
