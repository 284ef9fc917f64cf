"""Audit trail: events (append-only, sealed into a hash chain), signed checkpoints, checkpoint signing keys.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Append-only, enforced by the database itself. Triggers on both PostgreSQL
and SQLite refuse every DELETE of an audit event or checkpoint, and every
UPDATE of an event except the sealer's: setting ``seq``, ``prev_hash``,
``hash`` and ``sealed_at`` on a row where they are still NULL, changing
nothing else. (Migration 0006 lets an archived prefix of the chain be deleted.)

Least privilege on PostgreSQL: two roles. The owner role (here, whoever runs
``privacy-service migrate``) owns the tables and is the only one that may
alter or drop them or disable the triggers. The service role that the API and
the worker act as, ``privacy_service_app``, is created and granted only what
it needs on the trail by migration 0006 (no DELETE or TRUNCATE; UPDATE only of
the sealer's columns). The trigger still guards the sealing UPDATE the column
grant allows, and TRUNCATE (which fires no row trigger) is left to the owner
alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns fixed from the moment an event is recorded.
_RECORDED = (
    'id', 'at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id',
    'outcome', 'request_id', 'subject_id', 'details',
)
_SEALED = ('seq', 'prev_hash', 'hash', 'sealed_at')
_MESSAGE = 'audit events are append-only'


def _sqlite_triggers() -> list[str]:
    changed = ' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in _RECORDED)
    resealed = ' OR '.join(f'OLD.{c} IS NOT NULL' for c in _SEALED)
    return [
        f"""CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        WHEN {resealed} OR {changed}
        BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: a sealed or recorded value cannot change'); END""",
        f"""CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: an event cannot be deleted'); END""",
        f"""CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: a checkpoint cannot change'); END""",
        f"""CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: a checkpoint cannot be deleted'); END""",
    ]


def _postgresql_triggers() -> list[str]:
    changed = ' OR '.join(f'NEW.{c} IS DISTINCT FROM OLD.{c}' for c in _RECORDED)
    resealed = ' OR '.join(f'OLD.{c} IS NOT NULL' for c in _SEALED)
    return [
        f"""CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION '{_MESSAGE}: an event cannot be deleted' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF {resealed} OR {changed} THEN
                RAISE EXCEPTION '{_MESSAGE}: a sealed or recorded value cannot change' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
        f"""CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{_MESSAGE}: a checkpoint cannot change or be deleted' USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
        """CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
        FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only()""",
    ]


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=True),
    sa.Column('at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('subject_id', sa.String(length=26), nullable=True),
    sa.Column('details', sa.LargeBinary(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=True),
    sa.Column('hash', sa.String(length=64), nullable=True),
    sa.Column('sealed_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_events_prev_hash')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_events_seq'))
    )
    op.create_index(op.f('ix_audit_events_at'), 'audit_events', ['at'], unique=False)
    op.create_table('audit_signing_keys',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('private_key', sa.LargeBinary(), nullable=False),
    sa.Column('kek_version', sa.Integer(), nullable=False),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_signing_keys'))
    )
    op.create_table('audit_checkpoints',
    sa.Column('number', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('key_id', sa.String(length=26), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['audit_signing_keys.id'], name=op.f('fk_audit_checkpoints_key_id_audit_signing_keys')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_audit_checkpoints'))
    )
    op.create_index(op.f('ix_audit_checkpoints_seq'), 'audit_checkpoints', ['seq'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        statements = _postgresql_triggers()
    elif dialect == 'sqlite':
        statements = _sqlite_triggers()
    else:
        raise NotImplementedError(f'no append-only triggers for {dialect}')
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints')
        op.execute('DROP FUNCTION audit_checkpoints_append_only()')
        op.execute('DROP TRIGGER audit_events_append_only ON audit_events')
        op.execute('DROP FUNCTION audit_events_append_only()')
    op.drop_index(op.f('ix_audit_checkpoints_seq'), table_name='audit_checkpoints')
    op.drop_table('audit_checkpoints')
    op.drop_table('audit_signing_keys')
    op.drop_index(op.f('ix_audit_events_at'), table_name='audit_events')
    op.drop_table('audit_events')
