"""Models and migrations agree, and migrations run both ways."""

from __future__ import annotations

import ast
import logging
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

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


def test_migrating_and_checking_log_nothing_from_alembic(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every command checks the schema; Alembic's INFO lines ("Context impl SQLiteImpl.") stay out."""
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(make_settings(tmp_path), database_url=url)
        try:
            with caplog.at_level(logging.DEBUG):
                migrations.upgrade(engine)
                migrations.ensure_current(engine)
                assert migrations.current_revision(engine) == migrations.head_revision(engine)
        finally:
            engine.dispose()
    assert [record.getMessage() for record in caplog.records if record.name.startswith("alembic")] == []
    assert logging.getLogger("alembic").level == logging.NOTSET, "the level is given back afterwards"


def test_an_empty_database_is_reported_out_of_date_with_what_to_run(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(make_settings(tmp_path), database_url=url)
        try:
            with pytest.raises(migrations.SchemaOutOfDate, match="run `privacy-service migrate`"):
                migrations.ensure_current(engine)
        finally:
            engine.dispose()


def test_0009_keys_callback_receipts_by_system_keeping_the_earliest_of_a_webhook_id(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(make_settings(tmp_path), database_url=url)
        try:
            migrations.upgrade(engine, "0008")
            with engine.begin() as connection:
                for request_id, task_id in (("r1", "t1"), ("r2", "t2")):
                    values = {"request": request_id, "task": task_id, "at": "2026-12-01 10:00:00+00:00"}
                    connection.execute(
                        text(
                            "INSERT INTO dsr_requests (id, type, status, subject_id, jurisdiction, "
                            "received_at, due_at, extended, filed_by_type, filed_by_id, client_id) VALUES "
                            "(:request, 'access', 'in_progress', 's1', 'DE', :at, :at, false, 'client', "
                            "'c1', 'c1')"
                        ),
                        values,
                    )
                    connection.execute(
                        text(
                            "INSERT INTO dsr_tasks (id, request_id, system, status, webhook_id, attempts, "
                            "next_attempt_at) VALUES (:task, :request, 'crm', 'completed', :task, 1, :at)"
                        ),
                        values,
                    )
                # The replay the old key let in: one webhook-id taken for two tasks of one system.
                for task_id, at in (("t2", "2026-12-01 10:05:00+00:00"), ("t1", "2026-12-01 10:01:00+00:00")):
                    connection.execute(
                        text(
                            "INSERT INTO dsr_callback_receipts (task_id, webhook_id, received_at) "
                            "VALUES (:task_id, 'msg_captured', :at)"
                        ),
                        {"task_id": task_id, "at": at},
                    )
            migrations.upgrade(engine)
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT system, webhook_id, task_id FROM dsr_callback_receipts")
                ).all()
            assert [tuple(row) for row in rows] == [("crm", "msg_captured", "t1")]
        finally:
            engine.dispose()


def test_0017_drops_the_bundles_of_live_exports_keeping_their_rows_so_a_download_says_expired(
    tmp_path: Path,
) -> None:
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(make_settings(tmp_path), database_url=url)
        try:
            migrations.upgrade(engine, "0016")
            at = "2026-12-01 10:00:00+00:00"
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO dsr_requests (id, type, status, subject_id, jurisdiction, received_at, "
                        "due_at, extended, filed_by_type, filed_by_id, client_id) VALUES ('r1', 'access', "
                        "'completed', 's1', 'DE', :at, :at, false, 'user', 's1', 'c1')"
                    ),
                    {"at": at},
                )
                connection.execute(
                    text(
                        "INSERT INTO dsr_exports (request_id, subject_id, bundle, size, sha256, created_at, "
                        "expires_at) VALUES ('r1', 's1', :bundle, 4, :digest, :at, :until)"
                    ),
                    {
                        "bundle": b"\x01 a whole ZIP sealed as one field",
                        "digest": "0" * 64,
                        "at": at,
                        "until": "2026-12-08 10:00:00+00:00",
                    },
                )
            migrations.upgrade(engine)
            with engine.connect() as connection:
                row = connection.execute(text("SELECT bundle, segments, size FROM dsr_exports")).one()
                assert tuple(row) == (None, 0, 4)
                assert connection.execute(text("SELECT count(*) FROM dsr_export_segments")).scalar_one() == 0
            migrations.downgrade(engine, "0016")
            assert "dsr_export_segments" not in inspect(engine).get_table_names()
            assert "segments" not in {column["name"] for column in inspect(engine).get_columns("dsr_exports")}
        finally:
            engine.dispose()


#: What a migration may import. ``privacy_service.core.types`` is the one piece of the application
#: allowed: autogenerate writes its column types (``UTCDateTime``) by their import path, and it
#: imports nothing but SQLAlchemy, so what a migration does cannot change with the application.
MIGRATION_IMPORTS_ALLOWED = frozenset({"alembic", "sqlalchemy", "privacy_service.core.types"})
MIGRATIONS = sorted((Path(__file__).parents[3] / "migrations" / "versions").glob("*.py"))


def imported_modules(source: str) -> set[str]:
    """Every module a Python source imports, at any depth (``from . import x`` names ``.``)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add("." * node.level + (node.module or ""))
    return modules


def import_allowed_in_a_migration(module: str) -> bool:
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names:
        return True
    return any(module == allowed or module.startswith(allowed + ".") for allowed in MIGRATION_IMPORTS_ALLOWED)


def test_the_migrations_are_found() -> None:
    assert len(MIGRATIONS) >= 10
    assert any(path.name.startswith("0006_") for path in MIGRATIONS)


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda path: path.stem)
def test_a_migration_imports_only_the_standard_library_alembic_sqlalchemy_and_column_types(
    path: Path,
) -> None:
    imported = imported_modules(path.read_text(encoding="utf-8"))
    assert {module for module in imported if not import_allowed_in_a_migration(module)} == set()


@pytest.mark.parametrize(
    "module",
    ["privacy_service.audit.privileges", "privacy_service", "privacy_service.core", ".helpers", "requests"],
)
def test_an_import_of_the_application_or_a_third_party_package_is_not_allowed(module: str) -> None:
    assert not import_allowed_in_a_migration(module)


def test_imports_are_found_at_any_depth() -> None:
    source = "def upgrade():\n    from privacy_service.audit import privileges\n    import json\n"
    assert imported_modules(source) == {"privacy_service.audit", "json"}
