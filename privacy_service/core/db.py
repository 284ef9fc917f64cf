"""The database: engine, declarative base, session factory, and the helpers of hot-path queries.

Why synchronous SQLAlchemy: the expensive work here is CPU-bound (argon2,
AES-GCM) and runs in bounded thread pools anyway; sync sessions behave the
same on SQLite and psycopg 3, lazy loads cannot fail at a distance the way
they do under asyncio, and the worker, the CLI and the tests share one code
path. FastAPI runs sync routes in its thread pool, so a slow query never
blocks the event loop.

Services never commit: an edge opens one unit of work (``work.Workplace``)
and it commits once, so a change, its audit event and its outbox rows land
together or not at all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVarTuple

from sqlalchemy import CursorResult, Engine, MetaData, create_engine, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.selectable import TypedReturnsRows

from privacy_service.core.config import Settings

# Stable constraint names, so Alembic can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


SessionFactory = sessionmaker[Session]
Ts = TypeVarTuple("Ts")


def create_engine_for(settings: Settings, *, database_url: str | None = None) -> Engine:
    """An engine for the configured database; SQLite gets WAL, foreign keys and IMMEDIATE transactions."""
    url = database_url or settings.effective_database_url
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=10,
        connect_args={"connect_timeout": 5},
        hide_parameters=True,  # a driver error's message must never quote the values of a statement
    )
    ping_connections_idle_for(engine, seconds=PING_AFTER_IDLE_SECONDS)
    return engine


#: A pooled connection idle at least this long is pinged before it is handed out (HikariCP's default).
PING_AFTER_IDLE_SECONDS: Final = 0.5
_RETURNED_AT = "privacy_service.returned_at"


def ping_connections_idle_for(
    engine: Engine, *, seconds: float, clock: Callable[[], float] = time.monotonic
) -> None:
    """Ping a pooled connection at checkout only when it has been idle ``seconds`` or more.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip per
    unit of work, two of a login's twelve on PostgreSQL. A connection returned
    a moment ago was alive a moment ago, so, as HikariCP does, only one idle
    for a while is pinged, and a dead one is replaced before anyone uses it
    (a server restarted overnight costs no request). A server lost within
    that half second fails the statement that meets it, which the HTTP edge
    answers 503, and SQLAlchemy then discards every older pooled connection.
    A unit of work with one lookup takes 1.2x as long with a ping at every
    checkout (``benchmarks/README.md``, "caches.py").
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = clock()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or clock() - returned_at < seconds:
            return  # just connected, or just returned
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError() from error  # the pool connects anew and hands that out
        if not alive:
            raise DisconnectionError()


def sqlite_file(url: str) -> str | None:
    """The file an SQLite URL names; None for an in-memory database or another backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("uri") or parsed.database.startswith("file:"):
        return None  # an SQLite URI filename: SQLite reads its own options from it
    return parsed.database


def _create_owner_only(path: str) -> None:
    """Create an empty database file readable by its owner only, unless it exists.

    SQLite creates a missing database with the process's umask (often 0644),
    and its ``-wal`` and ``-shm`` files with the database file's mode: made
    0600 first, all three hold personal data (ciphertext, digests, the audit
    trail) for the service's user alone.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )
    path = sqlite_file(url)

    @event.listens_for(engine, "do_connect")
    def _before_connect(*_args: Any) -> None:
        if path is not None:
            _create_owner_only(path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        handle = dbapi_connection.cursor()
        handle.execute("PRAGMA journal_mode=WAL")
        handle.execute("PRAGMA foreign_keys=ON")
        handle.execute("PRAGMA synchronous=NORMAL")
        handle.execute("PRAGMA busy_timeout=30000")
        handle.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction
        # can then never fail half-way with SQLITE_BUSY when another writer won.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


def run_core(
    session: Session, query: TypedReturnsRows[*Ts], parameters: Mapping[str, Any] | None = None
) -> CursorResult[*Ts]:
    """Run a Core query on the session's connection, past the ORM's execution layer.

    For the hot paths (every login, every authenticated call): a query built
    once at import with ``bindparam`` placeholders skips building the
    expression and its cache key on each call, and the connection skips the
    ORM's per-statement compile state. Looking up a client in a unit of work
    of its own costs 1.9-2.3x the CPU through ``session.scalar(select(Client)...)``,
    and 1.2-1.4x through ``Session.execute`` of the same statement built once
    (``benchmarks/README.md``, "caches.py"). Pending ORM changes are flushed
    first, as autoflush would, so the query sees the unit of work's own changes;
    rows come back as rows, not entities.
    """
    session.flush()  # nothing to do, and cheap to find out, when nothing is pending
    return session.connection().execute(query, parameters)


# The INSERT of each supported database, with its ON CONFLICT clause: one upsert statement on both.
_DIALECT_INSERTS: dict[str, Callable[[Any], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def upsert_insert(dialect_name: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` (a mapped class or Table) that can take ``on_conflict_do_update``.

    Both supported databases spell ON CONFLICT alike, and SQLAlchemy builds it
    per dialect; another dialect is refused here rather than half-supported.
    """
    return _DIALECT_INSERTS[dialect_name](table)


def ping(sessions: SessionFactory) -> None:
    """Raise unless the database answers a trivial query."""
    with sessions() as session:
        session.execute(text("SELECT 1"))
