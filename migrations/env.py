"""Alembic environment: runs against the engine the service hands over (see core/migrations.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from privacy_service.core.migrations import all_models

target_metadata = all_models()


def run_migrations() -> None:
    engine: Engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `privacy-service migrate`")
run_migrations()
