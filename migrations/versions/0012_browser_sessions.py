"""Browser sessions of the web pages, the first-party client they sign in through, and request receipts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

The privacy center and the console sign people in through the same login as
the API, on behalf of the service's own client ``privacy-service-web``. That
client has no usable secret (an empty digest matches no secret) and no scope:
nobody can get a token as it. A browser session holds one login session
(``sessions``) by a cookie, stored as its keyed digest. The service role
reaches the new tables through the default privileges of migration 0006.

A receipt lets whoever filed an erasure in the privacy center follow it after
it has erased their account (and with it their sessions). The request queue,
in the API and the console, pages along a new index on ``(due_at, id)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTCDateTime = privacy_service.core.types.UTCDateTime
FIRST_PARTY_CLIENT_ID = 'privacy-service-web'


def upgrade() -> None:
    op.create_table('browser_sessions',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('token_digest', sa.LargeBinary(), nullable=False),
    sa.Column('session_id', sa.String(length=26), nullable=False),
    sa.Column('area', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_browser_sessions_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_browser_sessions')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_browser_sessions_token_digest'))
    )
    op.create_index(op.f('ix_browser_sessions_session_id'), 'browser_sessions', ['session_id'], unique=False)
    op.create_table('dsr_receipts',
    sa.Column('request_id', sa.String(length=26), nullable=False),
    sa.Column('digest', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['dsr_requests.id'], name=op.f('fk_dsr_receipts_request_id_dsr_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_dsr_receipts')),
    sa.UniqueConstraint('digest', name=op.f('uq_dsr_receipts_digest'))
    )
    op.create_index(op.f('ix_dsr_receipts_expires_at'), 'dsr_receipts', ['expires_at'], unique=False)
    op.create_index('ix_dsr_requests_due_at_id', 'dsr_requests', ['due_at', 'id'], unique=False)
    clients = sa.table(
        'clients',
        sa.column('id', sa.String),
        sa.column('name', sa.String),
        sa.column('secret_digest', sa.LargeBinary),
        sa.column('scopes', sa.Text),
        sa.column('created_at', UTCDateTime(timezone=True)),
        sa.column('disabled_at', UTCDateTime(timezone=True)),
    )
    op.bulk_insert(clients, [{
        'id': FIRST_PARTY_CLIENT_ID,
        'name': 'privacy-service web pages (first party)',
        'secret_digest': b'',
        'scopes': '',
        'created_at': datetime.now(UTC),
        'disabled_at': None,
    }])


def downgrade() -> None:
    op.drop_index('ix_dsr_requests_due_at_id', table_name='dsr_requests')
    op.drop_index(op.f('ix_dsr_receipts_expires_at'), table_name='dsr_receipts')
    op.drop_table('dsr_receipts')
    op.execute(sa.text('DELETE FROM clients WHERE id = :id').bindparams(id=FIRST_PARTY_CLIENT_ID))
    op.drop_index(op.f('ix_browser_sessions_session_id'), table_name='browser_sessions')
    op.drop_table('browser_sessions')
