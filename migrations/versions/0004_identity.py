"""Identity: accounts, second factors, sessions and refresh tokens, clients, signing keys, login failures.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import privacy_service.core.types


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('clients',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('secret_digest', sa.LargeBinary(), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients'))
    )
    op.create_table('login_failures',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.LargeBinary(), nullable=False),
    sa.Column('at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    op.create_index(op.f('ix_login_failures_at'), 'login_failures', ['at'], unique=False)
    op.create_index('ix_login_failures_scope_key_at', 'login_failures', ['scope', 'key', 'at'], unique=False)
    op.create_table('signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('public_jwk', sa.Text(), nullable=False),
    sa.Column('private_key', sa.LargeBinary(), nullable=False),
    sa.Column('kek_version', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_until', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_signing_keys'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('roles', sa.String(length=200), nullable=False),
    sa.Column('password', sa.LargeBinary(), nullable=False),
    sa.Column('password_changed_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['id'], ['subjects.id'], name=op.f('fk_users_id_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    op.create_table('mfa_challenges',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('token_digest', sa.LargeBinary(), nullable=False),
    sa.Column('user_id', sa.String(length=26), nullable=False),
    sa.Column('client_id', sa.String(length=26), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('expires_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_mfa_challenges_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mfa_challenges_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_challenges')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_mfa_challenges_token_digest'))
    )
    op.create_index(op.f('ix_mfa_challenges_user_id'), 'mfa_challenges', ['user_id'], unique=False)
    op.create_table('recovery_codes',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('user_id', sa.String(length=26), nullable=False),
    sa.Column('digest', sa.LargeBinary(), nullable=False),
    sa.Column('used_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes'))
    )
    op.create_index(op.f('ix_recovery_codes_user_id'), 'recovery_codes', ['user_id'], unique=False)
    op.create_table('sessions',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('user_id', sa.String(length=26), nullable=False),
    sa.Column('client_id', sa.String(length=26), nullable=False),
    sa.Column('amr', sa.String(length=50), nullable=False),
    sa.Column('user_agent', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_sessions_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions'))
    )
    op.create_index(op.f('ix_sessions_user_id'), 'sessions', ['user_id'], unique=False)
    op.create_table('totp_factors',
    sa.Column('user_id', sa.String(length=26), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=False),
    sa.Column('confirmed_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_step', sa.Integer(), nullable=True),
    sa.Column('created_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_totp_factors_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_totp_factors'))
    )
    op.create_table('refresh_tokens',
    sa.Column('id', sa.String(length=26), nullable=False),
    sa.Column('session_id', sa.String(length=26), nullable=False),
    sa.Column('digest', sa.LargeBinary(), nullable=False),
    sa.Column('issued_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', privacy_service.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_refresh_tokens_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('digest', name=op.f('uq_refresh_tokens_digest'))
    )
    op.create_index(op.f('ix_refresh_tokens_session_id'), 'refresh_tokens', ['session_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_refresh_tokens_session_id'), table_name='refresh_tokens')
    op.drop_table('refresh_tokens')
    op.drop_table('totp_factors')
    op.drop_index(op.f('ix_sessions_user_id'), table_name='sessions')
    op.drop_table('sessions')
    op.drop_index(op.f('ix_recovery_codes_user_id'), table_name='recovery_codes')
    op.drop_table('recovery_codes')
    op.drop_index(op.f('ix_mfa_challenges_user_id'), table_name='mfa_challenges')
    op.drop_table('mfa_challenges')
    op.drop_table('users')
    op.drop_table('signing_keys')
    op.drop_index('ix_login_failures_scope_key_at', table_name='login_failures')
    op.drop_index(op.f('ix_login_failures_at'), table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_table('clients')
