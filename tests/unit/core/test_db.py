from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Connection, Engine, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from privacy_service.core.config import Settings
from privacy_service.core.db import create_engine_for, ping_connections_idle_for, sqlite_file
from privacy_service.core.ids import new_id
from privacy_service.core.types import UTCDateTime
from tests.conftest import make_settings, requires_postgres
from tests.support.clocks import FakeMonotonic
from tests.support.database import backend_pid, terminate_backend


def test_the_embedded_database_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_for(make_settings(tmp_path))
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
    assert (tmp_path / "privacy.db").exists()


def test_the_embedded_database_and_its_wal_and_shm_files_are_created_owner_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the usual umask: new files readable by group and others
    try:
        engine = create_engine_for(make_settings(tmp_path))
        with engine.begin() as connection:  # a write: SQLite creates the -wal and -shm files
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            files = [tmp_path / name for name in ("privacy.db", "privacy.db-wal", "privacy.db-shm")]
            modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in files}
        engine.dispose()
    finally:
        os.umask(previous)
    assert modes == {"privacy.db": 0o600, "privacy.db-wal": 0o600, "privacy.db-shm": 0o600}


def test_an_existing_database_file_is_left_as_it_is(tmp_path: Path) -> None:
    database = tmp_path / "privacy.db"
    sqlite3.connect(database).execute("CREATE TABLE kept (x INTEGER)").connection.close()
    database.chmod(0o640)
    engine = create_engine_for(make_settings(tmp_path))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM kept")).scalar() == 0
    engine.dispose()
    assert stat.S_IMODE(database.stat().st_mode) == 0o640


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("sqlite:////srv/data/privacy.db", "/srv/data/privacy.db"),
        ("sqlite:///relative.db", "relative.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:shared?mode=memory&cache=shared&uri=true", None),
        ("postgresql+psycopg://u:p@host/db", None),
    ],
)
def test_sqlite_file_names_the_file_of_an_sqlite_url_only(url: str, file: str | None) -> None:
    assert sqlite_file(url) == file


def test_a_database_still_locked_at_begin_is_sqlalchemys_operational_error(tmp_path: Path) -> None:
    """Every transaction begins IMMEDIATE; when another writer holds the lock past the busy timeout, the
    error is the one the HTTP edge answers with 503, not the driver's own."""
    engine = create_engine_for(make_settings(tmp_path))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(tmp_path / "privacy.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with engine.connect() as connection:
            connection.connection.driver_connection.execute("PRAGMA busy_timeout=0")  # fail at once
            with pytest.raises(OperationalError, match="database is locked"):
                connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


@pytest.fixture
def stamps(connection: Connection) -> Table:
    table = Table("test_stamps", MetaData(), Column("at", UTCDateTime()))
    table.create(connection)
    return table


def test_timestamps_come_back_timezone_aware_in_utc(connection: Connection, stamps: Table) -> None:
    paris = timezone(timedelta(hours=1))
    written = datetime(2026, 3, 1, 13, 30, tzinfo=paris)
    connection.execute(insert(stamps).values(at=written))
    read = connection.execute(select(stamps.c.at)).scalar_one()
    assert read == written
    assert read.tzinfo == UTC
    assert read.hour == 12


def test_naive_timestamps_are_refused(connection: Connection, stamps: Table) -> None:
    with pytest.raises(StatementError, match="naive"):
        connection.execute(insert(stamps).values(at=datetime(2026, 3, 1, 12, 0)))  # noqa: DTZ001 -- the naive value is the point


def test_ids_are_unique_and_sort_by_creation() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(len(identifier) == 26 for identifier in ids)
    first, later = ids[0], ids[-1]
    assert first[:10] <= later[:10]  # the time prefix never goes backwards


# --- Pinging pooled connections ---------------------------------------------------------------------


@pytest.fixture
def pinged_engine(settings: Settings) -> Iterator[tuple[Engine, FakeMonotonic]]:
    """A one-connection pool that pings connections idle half a second, on a clock the test moves."""
    engine = create_engine(settings.effective_database_url, pool_size=1, max_overflow=0)
    clock = FakeMonotonic()
    ping_connections_idle_for(engine, seconds=0.5, clock=clock)
    try:
        yield engine, clock
    finally:
        engine.dispose()


def _kill_the_pooled_connection(engine: Engine) -> int:
    """Use the pool's one connection, return it, end its backend; return the backend's pid."""
    with engine.connect() as connection:
        pid = backend_pid(connection)
    terminate_backend(engine, pid)
    return pid


@requires_postgres
def test_a_pooled_connection_idle_past_the_interval_is_pinged_and_replaced_when_dead(
    pinged_engine: tuple[Engine, FakeMonotonic],
) -> None:
    engine, clock = pinged_engine
    first = _kill_the_pooled_connection(engine)
    clock.advance(0.5)
    with engine.connect() as connection:  # the ping finds it dead; the pool connects anew
        assert backend_pid(connection) != first


@requires_postgres
def test_a_pooled_connection_returned_a_moment_ago_is_handed_out_unpinged(
    pinged_engine: tuple[Engine, FakeMonotonic],
) -> None:
    engine, clock = pinged_engine
    first = _kill_the_pooled_connection(engine)
    clock.advance(0.4)
    with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
        connection.execute(text("SELECT 1"))  # no round trip was spent on a ping: the statement meets it
    assert raised.value.connection_invalidated
    with engine.connect() as connection:  # and the pool has discarded it
        assert backend_pid(connection) != first
