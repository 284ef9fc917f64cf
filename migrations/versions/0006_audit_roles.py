"""Audit trail: the service's least-privilege role on PostgreSQL, and archiving a prefix of the chain.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

**The service role (PostgreSQL only; nothing on SQLite).** Run as the owner,
this migration creates ``privacy_service_app`` (``SERVICE_ROLE`` in
``privacy_service/audit/privileges.py``, whose values at this revision are
frozen below: a migration never imports the application) as a ``NOLOGIN`` role unless it
exists already (roles are cluster-wide: several databases of one cluster share
it, and a concurrent creation is tolerated), and grants it:

- ``USAGE`` on the schema; ``SELECT, INSERT, UPDATE, DELETE`` on every table and
  ``USAGE, SELECT`` on every sequence that exists now;
- the same on tables and sequences the owner creates later in this schema, by
  ``ALTER DEFAULT PRIVILEGES``: later migrations need no grants of their own as
  long as they run as the same owner, and one adding a table the service must
  not change (append-only, say) revokes what it must not have;
- on the audit trail only ``SELECT, INSERT`` on ``audit_events`` and
  ``audit_checkpoints``, plus ``UPDATE`` of the sealer's columns (``seq``,
  ``prev_hash``, ``hash``, ``sealed_at``) and of ``audit_signing_keys.retired_at``;
  ``SELECT`` alone on ``audit_archives`` and ``alembic_version``. No ``DELETE``
  or ``TRUNCATE`` anywhere on the trail.

The role cannot log in: ``ALTER ROLE privacy_service_app LOGIN PASSWORD '...'``,
or ``CREATE ROLE shop_privacy LOGIN PASSWORD '...' IN ROLE privacy_service_app``
and connect the API and workers as ``shop_privacy``. The downgrade revokes
the grants in this database but leaves the role, which other databases of the
cluster may use.

**Archiving.** ``audit_archives`` holds signed records of prefixes of the chain
exported by ``privacy-service audit archive``. The delete guard of 0005 becomes:
an event may be deleted only when sealed and at or before the newest archive's
``through_seq``; the archive records themselves never change. On PostgreSQL
only the owner holds ``DELETE`` on events at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# privacy_service/audit/privileges.py as it was at this revision, frozen: a later change of the
# application's privileges needs a migration of its own, and must not rewrite what this one granted.
SERVICE_ROLE = 'privacy_service_app'
AUDIT_TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    'audit_events': ('SELECT', 'INSERT', 'UPDATE (seq, prev_hash, hash, sealed_at)'),
    'audit_checkpoints': ('SELECT', 'INSERT'),
    'audit_signing_keys': ('SELECT', 'INSERT', 'UPDATE (retired_at)'),
    'audit_archives': ('SELECT',),
}
READ_ONLY_TABLES = ('alembic_version',)

# As in 0005: columns fixed from the moment an event is recorded, and those the sealer fills in once.
_RECORDED = (
    'id', 'at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id',
    'outcome', 'request_id', 'subject_id', 'details',
)
_SEALED = ('seq', 'prev_hash', 'hash', 'sealed_at')
_MESSAGE = 'audit events are append-only'
_ARCHIVED_THROUGH = '(SELECT COALESCE(MAX(through_seq), 0) FROM audit_archives)'
_ARCHIVES_MESSAGE = 'audit archives are append-only: an archive record cannot change or be deleted'


def _postgresql_events_function(*, archived_prefix_deletable: bool) -> str:
    changed = ' OR '.join(f'NEW.{c} IS DISTINCT FROM OLD.{c}' for c in _RECORDED)
    resealed = ' OR '.join(f'OLD.{c} IS NOT NULL' for c in _SEALED)
    if archived_prefix_deletable:
        on_delete = f"""IF OLD.seq IS NOT NULL AND OLD.seq <= {_ARCHIVED_THROUGH} THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION '{_MESSAGE}: only an archived prefix of the chain can be deleted' USING ERRCODE = 'integrity_constraint_violation';"""
    else:
        on_delete = f"""RAISE EXCEPTION '{_MESSAGE}: an event cannot be deleted' USING ERRCODE = 'integrity_constraint_violation';"""
    return f"""CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                {on_delete}
            END IF;
            IF {resealed} OR {changed} THEN
                RAISE EXCEPTION '{_MESSAGE}: a sealed or recorded value cannot change' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$"""


def _create_role() -> str:
    return f"""DO $$
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{SERVICE_ROLE}') THEN
            BEGIN
                CREATE ROLE {SERVICE_ROLE} NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by the same migration on another database of the cluster
            END;
        END IF;
    END $$"""


def _grants(schema: str) -> list[str]:
    statements = [
        _create_role(),
        f'GRANT USAGE ON SCHEMA "{schema}" TO {SERVICE_ROLE}',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {SERVICE_ROLE}',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {SERVICE_ROLE}',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {SERVICE_ROLE}',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT USAGE, SELECT ON SEQUENCES TO {SERVICE_ROLE}',
    ]
    # Revoking a table-wide privilege also revokes it on every column: revoke first, then grant.
    for table, privileges in AUDIT_TABLE_PRIVILEGES.items():
        statements.append(f'REVOKE ALL ON {table} FROM {SERVICE_ROLE}')
        statements.extend(f'GRANT {privilege} ON {table} TO {SERVICE_ROLE}' for privilege in privileges)
    for table in READ_ONLY_TABLES:
        statements.append(f'REVOKE ALL ON {table} FROM {SERVICE_ROLE}')
        statements.append(f'GRANT SELECT ON {table} TO {SERVICE_ROLE}')
    return statements


def _revocations(schema: str) -> list[str]:
    return [
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE ALL ON SEQUENCES FROM {SERVICE_ROLE}',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE ALL ON TABLES FROM {SERVICE_ROLE}',
        f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM {SERVICE_ROLE}',
        f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {SERVICE_ROLE}',
        f'REVOKE USAGE ON SCHEMA "{schema}" FROM {SERVICE_ROLE}',
    ]


def _sqlite_events_delete_trigger(*, archived_prefix_deletable: bool) -> str:
    if archived_prefix_deletable:
        return f"""CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        WHEN OLD.seq IS NULL OR OLD.seq > {_ARCHIVED_THROUGH}
        BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: only an archived prefix of the chain can be deleted'); END"""
    return f"""CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: an event cannot be deleted'); END"""


def upgrade() -> None:
    op.create_table('audit_archives',
    sa.Column('number', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('first_seq', sa.BigInteger(), nullable=False),
    sa.Column('through_seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('before', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('key_id', sa.String(length=26), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['audit_signing_keys.id'], name=op.f('fk_audit_archives_key_id_audit_signing_keys')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_audit_archives')),
    sa.UniqueConstraint('through_seq', name=op.f('uq_audit_archives_through_seq'))
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == 'postgresql':
        op.execute(_postgresql_events_function(archived_prefix_deletable=True))
        op.execute(f"""CREATE FUNCTION audit_archives_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{_ARCHIVES_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
        END $$""")
        op.execute("""CREATE TRIGGER audit_archives_append_only BEFORE UPDATE OR DELETE ON audit_archives
        FOR EACH ROW EXECUTE FUNCTION audit_archives_append_only()""")
        schema = bind.execute(sa.text('SELECT current_schema()')).scalar_one()
        for statement in _grants(schema):
            op.execute(statement)
    elif dialect == 'sqlite':
        op.execute('DROP TRIGGER audit_events_no_delete')
        op.execute(_sqlite_events_delete_trigger(archived_prefix_deletable=True))
        op.execute(f"""CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
        BEGIN SELECT RAISE(ABORT, '{_ARCHIVES_MESSAGE}'); END""")
        op.execute(f"""CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
        BEGIN SELECT RAISE(ABORT, '{_ARCHIVES_MESSAGE}'); END""")
    else:
        raise NotImplementedError(f'no append-only triggers for {dialect}')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        schema = bind.execute(sa.text('SELECT current_schema()')).scalar_one()
        for statement in _revocations(schema):
            op.execute(statement)
        op.execute('DROP TRIGGER audit_archives_append_only ON audit_archives')
        op.execute('DROP FUNCTION audit_archives_append_only()')
        op.execute(_postgresql_events_function(archived_prefix_deletable=False))
    else:
        op.execute('DROP TRIGGER audit_archives_no_delete')
        op.execute('DROP TRIGGER audit_archives_no_update')
        op.execute('DROP TRIGGER audit_events_no_delete')
        op.execute(_sqlite_events_delete_trigger(archived_prefix_deletable=False))
    op.drop_table('audit_archives')
