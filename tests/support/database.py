"""Reading rows past SQLAlchemy, and ending PostgreSQL backends, for tests of the database layer."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, Table, create_engine, text
from sqlalchemy.pool import NullPool


def stored_row(connection: Connection, table: Table, row_id: str) -> tuple[object, ...] | None:
    """``at, body, label`` of a row as the database holds it, read past SQLAlchemy's result processing."""
    handle = connection.connection.cursor()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    handle.execute(f"SELECT at, body, label FROM {table.name} WHERE id = {marker}", (row_id,))  # noqa: S608 -- a test table's name
    row = handle.fetchone()
    return None if row is None else tuple(row)


def backend_pid(connection: Connection) -> int:
    return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate_backend(engine: Engine, pid: int) -> None:
    """End a PostgreSQL backend from a connection outside ``engine``'s pool, and wait until it has gone."""
    with create_engine(engine.url, poolclass=NullPool).connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
