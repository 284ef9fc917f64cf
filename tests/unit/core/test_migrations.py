"""Models and migrations agree, and migrations run both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from privacy_service.core import migrations
from privacy_service.core.db import create_engine_for
from tests.conftest import make_settings, scratch_database


def test_autogenerate_finds_no_difference_between_models_and_migrations(engine: Engine) -> None:
    metadata = migrations.all_models()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_the_test_database_is_at_head(engine: Engine) -> None:
    migrations.ensure_current(engine)


def test_upgrade_downgrade_upgrade_round_trips(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(make_settings(tmp_path), database_url=url)
        try:
            migrations.upgrade(engine)
            tables_at_head = set(inspect(engine).get_table_names())
            migrations.downgrade(engine, "base")
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            migrations.upgrade(engine)
            assert set(inspect(engine).get_table_names()) == tables_at_head
            assert migrations.current_revision(engine) == migrations.head_revision(engine)
        finally:
            engine.dispose()


def test_an_empty_database_is_reported_out_of_date_with_what_to_run(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(make_settings(tmp_path), database_url=url)
        try:
            with pytest.raises(migrations.SchemaOutOfDate, match="run `privacy-service migrate`"):
                migrations.ensure_current(engine)
        finally:
            engine.dispose()
