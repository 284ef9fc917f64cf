"""How every command starts, run as an operator would: which database it says it uses, what it does where
there is none, how a bad setting stops it, and that Alembic's log lines stay out of its output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from tests.conftest import on_postgres, scratch_database
from tests.e2e.conftest import run_cli, service_environment, start_server

pytestmark = pytest.mark.e2e

# Commands that work on an existing database (all but serve and migrate), with what they need besides.
EXISTING_DATABASE_COMMANDS = [
    pytest.param(("clients", "list"), id="clients list"),
    pytest.param(("admin", "list"), id="admin list"),
    pytest.param(("admin", "disable", "--email", "a@shop.example"), id="admin disable"),
    pytest.param(("keys", "status"), id="keys status"),
    pytest.param(("audit", "verify"), id="audit verify"),
    pytest.param(("erasures", "replay", "--since", "2026-01-01"), id="erasures replay"),
    pytest.param(("worker",), id="worker"),
]


def announced(stderr: str) -> str:
    """The line on which a command names its database and data directory."""
    [line] = [
        line
        for line in stderr.splitlines()
        if line.startswith("privacy-service: database ") and ", data directory " in line
    ]
    return line


@pytest.mark.parametrize("command", EXISTING_DATABASE_COMMANDS)
def test_a_command_where_no_database_exists_says_so_and_creates_none(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    data_dir = tmp_path / "data"
    with scratch_database(tmp_path) as url:  # PostgreSQL: a database no migration has touched
        env = service_environment(data_dir, url)

        result = run_cli(*command, env=env)

        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "run `privacy-service migrate`" in result.stderr
        if on_postgres():
            assert "has no schema yet" in result.stderr
            engine = create_engine(url)
            assert inspect(engine).get_table_names() == [], "nothing was created"
            engine.dispose()
        else:
            assert f"no database at {data_dir.resolve() / 'privacy.db'}" in result.stderr
            assert not data_dir.exists(), "neither the data directory nor a database was created"


def test_after_migrate_the_same_command_works(tmp_path: Path, server_database: str) -> None:
    env = service_environment(tmp_path / "data", server_database)
    assert run_cli("migrate", env=env).returncode == 0

    result = run_cli("clients", "list", "--json", env=env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_a_command_names_its_database_and_data_directory_in_one_line_on_stderr(
    tmp_path: Path, server_database: str
) -> None:
    data_dir = tmp_path / "data"
    env = service_environment(data_dir, server_database)
    assert run_cli("migrate", env=env).returncode == 0

    result = run_cli("clients", "list", "--json", env=env)

    shown = env.get("PRIVACY_DATABASE_URL") or f"sqlite:///{data_dir.resolve() / 'privacy.db'}"
    assert result.stderr.splitlines() == [
        f"privacy-service: database {shown}, data directory {data_dir.resolve()}"
    ]
    assert json.loads(result.stdout) == [], "stdout stays the JSON alone"


def test_the_database_password_is_never_shown(tmp_path: Path) -> None:
    env = service_environment(
        tmp_path / "data", PRIVACY_DATABASE_URL="postgresql+psycopg://operator:hunter2@127.0.0.1:1/nowhere"
    )

    result = run_cli("clients", "list", env=env)

    assert result.returncode == 1
    assert "hunter2" not in result.stdout + result.stderr
    assert announced(result.stderr).startswith(
        "privacy-service: database postgresql+psycopg://operator:***@127.0.0.1:1/nowhere, data directory "
    )
    assert "the database is not reachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_commands_print_no_migration_log_lines(tmp_path: Path, server_database: str) -> None:
    env = service_environment(tmp_path / "data", server_database)
    migrated = run_cli("migrate", env=env)
    assert migrated.returncode == 0
    assert "alembic" not in migrated.stderr
    assert migrated.stdout.startswith(
        "database schema "
    )  # migrated; on PostgreSQL the fixture migrated it first

    for command in (("keys", "status"), ("clients", "list"), ("audit", "verify"), ("migrate",)):
        result = run_cli(*command, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines() == [announced(result.stderr)], command


def test_serve_creates_the_embedded_database_on_a_first_run_and_says_so_without_alembics_lines(
    tmp_path: Path, server_database: str
) -> None:
    data_dir = tmp_path / "data"
    server = start_server(
        service_environment(data_dir, server_database), tmp_path / "server.log", "--no-worker"
    )
    server.stop()

    log = server.log().splitlines()
    assert announced("\n".join(log)).endswith(f"data directory {data_dir.resolve()}")
    if not on_postgres():  # PostgreSQL is migrated by the operator (the fixture did), SQLite by serve
        assert any(
            line.startswith("privacy-service: database schema migrated from empty to ") for line in log
        )
        assert (data_dir / "privacy.db").exists()
    assert not any('"logger": "alembic' in line for line in log)


def test_serve_checks_its_options_before_creating_anything(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    result = run_cli("serve", "--port", "0", "--ssl-certfile", __file__, env=service_environment(data_dir))

    assert result.returncode == 2
    assert "--ssl-certfile and --ssl-keyfile go together" in result.stderr
    assert not data_dir.exists()


# An invalid value and an unknown variable, each refused before any work, by name, on one line.
BAD_SETTINGS = [
    pytest.param(
        "PRIVACY_ARGON2_TIME_COST", "1", "PRIVACY_ARGON2_TIME_COST: must be at least 2 (OWASP's minimum)",
        id="argon2 time cost",
    ),
    pytest.param("PRIVACY_NO_SUCH_SETTING", "1", "PRIVACY_NO_SUCH_SETTING: unknown setting", id="unknown"),
]  # fmt: skip
COMMANDS = [
    pytest.param(("migrate",), id="migrate"),
    pytest.param(("serve", "--port", "0"), id="serve"),
    pytest.param(("worker",), id="worker"),
    pytest.param(("clients", "list"), id="clients list"),
    pytest.param(("admin", "create", "--email", "a@shop.example", "--password-stdin"), id="admin create"),
    pytest.param(("users", "import", __file__), id="users import"),
]


@pytest.mark.parametrize(("variable", "value", "problem"), BAD_SETTINGS)
@pytest.mark.parametrize("command", COMMANDS)
def test_an_invalid_setting_stops_any_command_with_one_line_naming_the_variable(
    tmp_path: Path, command: tuple[str, ...], variable: str, value: str, problem: str
) -> None:
    env = service_environment(tmp_path / "data", **{variable: value})

    result = subprocess.run(
        [sys.executable, "-m", "privacy_service", *command],
        env=env, input="a long staff passphrase 2026\n", capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"privacy-service: invalid setting: {problem}"]
    assert result.stdout == ""
    assert not (tmp_path / "data").exists()
