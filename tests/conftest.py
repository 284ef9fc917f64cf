"""Fixtures shared by the whole suite.

The suite runs on SQLite by default and on PostgreSQL when
``PRIVACY_TEST_DATABASE_URL`` names one (``.ci/run`` does both). The session's
database is migrated once; each test runs inside a transaction that is rolled
back afterwards, and the app's units of work commit only savepoints inside it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core import migrations
from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.core.db import create_engine_for
from privacy_service.crypto import LocalKeyFile
from privacy_service.identity.credentials import Credentials
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.service import Keyring
from privacy_service.main import create_app
from privacy_service.work import Work

POSTGRES_URL = os.environ.get("PRIVACY_TEST_DATABASE_URL") or None

# Settings must never pick up a developer's .env or PRIVACY_ variables in tests; argon2 is cheap
# here (the end-to-end tests and benchmarks run production parameters).
_SETTINGS_DEFAULTS: dict[str, object] = {
    "_env_file": None,
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8,
    "argon2_insecure_for_tests": True,
    "password_pool_workers": 2,
}


def on_postgres() -> bool:
    return POSTGRES_URL is not None


requires_postgres = pytest.mark.skipif(not on_postgres(), reason="needs PRIVACY_TEST_DATABASE_URL")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {**_SETTINGS_DEFAULTS, "data_dir": data_dir, **overrides}
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A new, empty database ``name`` beside PRIVACY_TEST_DATABASE_URL's, dropped afterwards.

    One a crashed run left behind is replaced. Both statements run on an AUTOCOMMIT connection:
    PostgreSQL runs neither inside a transaction.
    """
    assert POSTGRES_URL is not None
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_database(tmp_dir: Path) -> Iterator[str]:
    """A brand-new, empty database of the backend under test, dropped afterwards."""
    if POSTGRES_URL is None:
        yield f"sqlite:///{tmp_dir / f'scratch-{uuid.uuid4().hex}.db'}"
        return
    with postgres_database(f"privacy_scratch_{uuid.uuid4().hex[:12]}") as url:
        yield url


def reset_schema(engine: Engine) -> None:
    """Start the session from nothing, whatever an earlier run left behind."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path, worker_id: str) -> Iterator[str]:
    """The session's database: an SQLite file, or PostgreSQL; one of its own per xdist worker."""
    if POSTGRES_URL is None:
        yield f"sqlite:///{data_dir / 'test.db'}"
        return
    if worker_id == "master":
        yield POSTGRES_URL
        return
    # pytest-xdist: each worker process gets a database of its own beside the one named.
    with postgres_database(f"{make_url(POSTGRES_URL).database}_{worker_id}") as url:
        yield url


@pytest.fixture(scope="session")
def settings(data_dir: Path, database_url: str) -> Settings:
    return make_settings(data_dir, database_url=database_url)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_engine_for(settings)
    reset_schema(engine)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One connection whose outer transaction every test rolls back."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            if transaction.is_active:
                transaction.rollback()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """A session factory whose commits release savepoints inside the test's transaction."""
    return sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def key_file(tmp_path: Path) -> LocalKeyFile:
    return LocalKeyFile.open_or_create(tmp_path / "keys" / "keys.json")


@pytest.fixture
def keyring(key_file: LocalKeyFile, clock: FrozenClock) -> Keyring:
    return Keyring(provider=key_file, clock=clock, cache=DataKeyCache(max_entries=1000, ttl_seconds=300))


@pytest.fixture
def work(session: Session, clock: FrozenClock, keyring: Keyring) -> Work:
    """The test's unit of work, on the test's ``session``, ``clock`` and ``keyring``.

    Rows it writes at its commit (audit events, a login's session) reach the
    database at ``work.commit()``, as they do when an edge's unit of work ends.
    """
    return Work(session=session, clock=clock, keyring=keyring)


@pytest.fixture
def credentials(settings: Settings, keyring: Keyring, clock: FrozenClock) -> Iterator[Credentials]:
    built = Credentials.from_settings(settings, keyring=keyring, clock=clock)
    yield built
    built.close()


@pytest.fixture
def app(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    keyring: Keyring,
    credentials: Credentials,
) -> FastAPI:
    app = create_app(settings, engine=engine, clock=clock, keyring=keyring, credentials=credentials)
    app.state.sessions = sessions
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
