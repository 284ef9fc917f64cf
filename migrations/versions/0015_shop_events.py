"""Shop events: the client that recorded an audit event, and the answers kept for idempotency keys.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10

``audit_events.recorded_by`` names the client that recorded a shop's own
event (``POST /v1/audit/events``); it is null for the service's events and
hashed only where it is set (``audit/canonical.py``, encoding version 2), so
no stored hash changes. Like every recorded column it is fixed once written:
the append-only triggers of 0005 and 0006 are recreated with it in their list.
On PostgreSQL the service role's table-wide ``SELECT, INSERT`` on
``audit_events`` already covers the new column, and its ``UPDATE`` stays
limited to the sealer's columns.

``shop_event_idempotency_keys`` keeps, per client and key, the digest of the
request first sent with the key and the answer it got, for at least the
retention the worker purges after (``PRIVACY_IDEMPOTENCY_KEY_HOURS``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0005 and 0006 (frozen here: a migration never imports the application), with recorded_by added.
_RECORDED_BEFORE = (
    'id', 'at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id',
    'outcome', 'request_id', 'subject_id', 'details',
)
_RECORDED = (*_RECORDED_BEFORE, 'recorded_by')
_SEALED = ('seq', 'prev_hash', 'hash', 'sealed_at')
_MESSAGE = 'audit events are append-only'
_ARCHIVED_THROUGH = '(SELECT COALESCE(MAX(through_seq), 0) FROM audit_archives)'


def _postgresql_events_function(recorded: Sequence[str]) -> str:
    changed = ' OR '.join(f'NEW.{c} IS DISTINCT FROM OLD.{c}' for c in recorded)
    resealed = ' OR '.join(f'OLD.{c} IS NOT NULL' for c in _SEALED)
    return f"""CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF OLD.seq IS NOT NULL AND OLD.seq <= {_ARCHIVED_THROUGH} THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION '{_MESSAGE}: only an archived prefix of the chain can be deleted' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF {resealed} OR {changed} THEN
                RAISE EXCEPTION '{_MESSAGE}: a sealed or recorded value cannot change' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$"""


def _sqlite_update_trigger(recorded: Sequence[str]) -> str:
    changed = ' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in recorded)
    resealed = ' OR '.join(f'OLD.{c} IS NOT NULL' for c in _SEALED)
    return f"""CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        WHEN {resealed} OR {changed}
        BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: a sealed or recorded value cannot change'); END"""


def _guard(recorded: Sequence[str]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(_postgresql_events_function(recorded))
    elif dialect == 'sqlite':
        op.execute('DROP TRIGGER audit_events_no_update')
        op.execute(_sqlite_update_trigger(recorded))
    else:
        raise NotImplementedError(f'no append-only triggers for {dialect}')


def upgrade() -> None:
    op.add_column('audit_events', sa.Column('recorded_by', sa.String(length=26), nullable=True))
    _guard(_RECORDED)
    op.create_table('shop_event_idempotency_keys',
    sa.Column('client_id', sa.String(length=26), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_digest', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_shop_event_idempotency_keys_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id', 'key', name=op.f('pk_shop_event_idempotency_keys'))
    )
    op.create_index(op.f('ix_shop_event_idempotency_keys_created_at'), 'shop_event_idempotency_keys', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_shop_event_idempotency_keys_created_at'), table_name='shop_event_idempotency_keys')
    op.drop_table('shop_event_idempotency_keys')
    _guard(_RECORDED_BEFORE)
    # SQLite (3.35+) drops a column in place, keeping the table's triggers; batch mode would copy the table.
    op.execute('ALTER TABLE audit_events DROP COLUMN recorded_by')
