"""Rows that ride with the COMMIT: inserted in the same network round trip as the transaction's end.

An append-only row that only has to commit together with the rest of a
transaction (an audit event) does not need a round trip of its own. On
PostgreSQL through psycopg, ``insert_with_commit`` holds the row on the
connection, and the connection's COMMIT is sent as one simple-protocol message
``INSERT ...; COMMIT`` whose values psycopg binds client-side (its
``ClientCursor``: every value escaped by libpq, never pasted as text). For a
transaction that writes one business row, that is three round trips instead of
four; ``benchmarks/audit_append.py`` measures the difference.

The rows behave as if they had been inserted at once wherever that could be
observed inside the transaction:

- a statement that names a held row's table first writes the held rows, so a
  read in the same transaction sees them (the sealer, the audit queries);
- a savepoint (begin, release or rollback) first writes them, so rolling back
  to a savepoint removes exactly what was recorded after it;
- a rollback drops them, and every transaction begins with none held, so a
  held row can never leak into another transaction on a pooled connection;
- if the rows cannot be inserted, the COMMIT is not executed: the message
  stops at the first error and the whole transaction rolls back, raising the
  usual SQLAlchemy ``DBAPIError`` subclass.

Elsewhere (SQLite, or an engine made without ``install``) the row is simply
inserted at once, which is just as correct; there is no network to save.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

import psycopg
from sqlalchemy import Connection, Dialect, Engine, Insert, Table, event, exc, insert
from sqlalchemy.orm import Session

_HELD: Final = "privacy_service.commit_riders.held"
_INSTALLED: weakref.WeakSet[Engine] = weakref.WeakSet()


def install(engine: Engine) -> None:
    """Let ``insert_with_commit`` hold rows on this engine's connections (PostgreSQL with psycopg only)."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg" or engine in _INSTALLED:
        return
    event.listen(engine, "begin", _drop_held)
    event.listen(engine, "rollback", _drop_held)
    event.listen(engine, "commit", _commit_with_held)
    event.listen(engine, "before_cursor_execute", _write_held_before_reading)
    for name in ("savepoint", "rollback_savepoint", "release_savepoint"):
        event.listen(engine, name, _write_held_at_savepoint)
    _INSTALLED.add(engine)


def insert_with_commit(session: Session, table: Table, row: Mapping[str, Any]) -> None:
    """Insert ``row`` into ``table`` in the session's transaction, in the COMMIT's round trip if possible.

    ``row`` must name every column the INSERT writes, with Python values as
    the columns' types take them; nothing is returned (no generated keys).
    """
    connection = session.connection()
    if connection.engine not in _INSTALLED:
        connection.execute(_insert(table), dict(row))
        return
    held: list[tuple[Table, dict[str, Any]]] = connection.info.setdefault(_HELD, [])
    held.append((table, dict(row)))


@functools.lru_cache(maxsize=64)
def _insert(table: Table) -> Insert:
    return insert(table)


# --- Listeners ------------------------------------------------------------------------------------


def _drop_held(connection: Connection) -> None:
    connection.info.pop(_HELD, None)


def _commit_with_held(connection: Connection) -> None:
    """Send the held rows and the COMMIT as one message; SQLAlchemy's own COMMIT then finds nothing to do."""
    held = connection.info.pop(_HELD, None)
    if held:
        _send(connection, held, then="COMMIT")


def _write_held_before_reading(
    connection: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    held = connection.info.get(_HELD)
    if held and any(table.name in statement for table, _row in held):
        _send(connection, connection.info.pop(_HELD), then=None)


def _write_held_at_savepoint(connection: Connection, *args: Any) -> None:
    held = connection.info.pop(_HELD, None)
    if held:
        _send(connection, held, then=None)


# --- Sending --------------------------------------------------------------------------------------


def _send(connection: Connection, held: list[tuple[Table, dict[str, Any]]], *, then: str | None) -> None:
    """One ``INSERT`` per table and column set for ``held`` (then ``then``), as one client-bound message."""
    dialect = connection.dialect
    groups: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for table, row in held:
        groups.setdefault((table, tuple(row)), []).append(row)
    statements: list[str] = []
    parameters: list[Any] = []
    for (table, columns), rows in groups.items():
        prefix, placeholders, processors = _insert_plan(table, columns, dialect)
        statements.append(prefix + ", ".join([placeholders] * len(rows)))
        for row in rows:
            for column, process in zip(columns, processors, strict=True):
                value = row[column]
                parameters.append(value if process is None or value is None else process(value))
    if then is not None:
        statements.append(then)
    message = "; ".join(statements)
    try:
        driver_connection = connection.connection.dbapi_connection
        assert isinstance(driver_connection, psycopg.Connection)  # install() admits psycopg only
        with psycopg.ClientCursor(driver_connection) as cursor:
            cursor.execute(message, parameters)
    except psycopg.Error as error:
        raise exc.DBAPIError.instance(
            message, None, error, psycopg.Error, hide_parameters=True, dialect=dialect
        ) from error


@functools.lru_cache(maxsize=64)
def _insert_plan(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, str, tuple[Callable[[Any], Any] | None, ...]]:
    """``INSERT INTO t (c, ...) VALUES ``, one row's ``(%s, ...)``, and each column type's conversion of
    a Python value for this dialect (``UTCDateTime`` normalises to UTC); computed once per shape."""
    # Only identifiers are pasted, from the table's metadata and quoted by the dialect; values are bound.
    quote = dialect.identifier_preparer.quote
    prefix = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "  # noqa: S608
        f"({', '.join(quote(column) for column in columns)}) VALUES "
    )
    processors = tuple(
        table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in columns
    )
    return prefix, "(" + ", ".join(["%s"] * len(columns)) + ")", processors
