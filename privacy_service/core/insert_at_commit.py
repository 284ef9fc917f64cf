"""``InsertAtCommit``: rows a transaction adds, sent as it commits (on PostgreSQL, with the COMMIT).

For the row every audited change adds, its audit event. Written at once, on
PostgreSQL it costs a round trip of its own: the writer waits for the server,
hands the interpreter lock back and forth, and an audited transaction made a
quarter to a third fewer commits a second than the same transaction without its event
(``benchmarks/audit_append.py``). Added here, the row waits with the
transaction and goes to the server when the transaction commits: its INSERT
and the COMMIT are sent as one libpq pipeline and answered together
(``core.pg_pipeline``), so an audited transaction makes no more round trips
than an unaudited one. Elsewhere (SQLite, in process) the rows go through the
driver's cursor just before the COMMIT.

What is promised:

- The rows belong to the transaction: they are written inside it, just before
  it commits. If one fails, nothing commits, and the commit raises SQLAlchemy's
  error for it (the values are never quoted).
- Rows added inside a savepoint are written when the savepoint is released
  (in one round trip on PostgreSQL), and dropped when it is rolled back, as the
  savepoint's own rows would be.
- A transaction that rolls back drops its rows. They are kept with the
  transaction object itself, never with the pooled connection, so none can
  reach a later transaction.
- Each value is checked and encoded when it is added, so a bad one fails at the
  call that adds it.
- Until then, queries in the same transaction do not see the rows: use this
  only for rows that the transaction itself never reads back.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NoReturn, cast

from sqlalchemy import Connection, Engine, Table, bindparam, event, insert
from sqlalchemy.engine import Dialect, Transaction
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from privacy_service.core.db import Base
from privacy_service.core.pg_pipeline import PipelinedInsert, PipelinedRow, send_pipeline


class InsertAtCommit:
    """An INSERT of one row with fixed columns, sent when the transaction it was added in commits."""

    def __init__(self, table: Table | type[Base], columns: Sequence[str]) -> None:
        self._table = table if isinstance(table, Table) else cast(Table, table.__table__)
        self._columns = tuple(columns)
        self._names = frozenset(self._columns)
        self._prepared: dict[tuple[str, str], _CursorInsert | PipelinedInsert] = {}

    def add(self, session: Session, values: Mapping[str, Any]) -> None:
        """Add one row to the session's transaction; ``values`` names exactly the columns."""
        if values.keys() != self._names:
            raise ValueError(f"{self._table.name}: the values must name exactly {sorted(self._names)}")
        connection = session.connection()
        _watch(connection.engine)
        dialect = connection.dialect
        prepared = self._prepared.get((dialect.name, dialect.driver))
        if prepared is None:
            prepared = self._prepared[(dialect.name, dialect.driver)] = (
                PipelinedInsert.of(self._table, self._columns, dialect)
                if _pipelines(dialect)
                else _CursorInsert.of(self._table, self._columns, dialect)
            )
        _rows_of(connection).append(prepared.bind(values))


# --- Elsewhere (SQLite): the driver's cursor, just before COMMIT ---------------------------------


@dataclass(frozen=True, slots=True)
class _CursorRow:
    """One row's INSERT with its parameters, as the driver's cursor takes them."""

    sql: str
    parameters: tuple[Any, ...] | dict[str, Any]

    def send(self, connection: Connection) -> None:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql, self.parameters)
        except connection.dialect.loaded_dbapi.Error as error:
            _raise_as_sqlalchemy(connection, error, statement=self.sql, cursor=cursor)
        finally:
            cursor.close()


@dataclass(frozen=True, slots=True)
class _CursorInsert:
    """The statement for the driver's cursor, compiled once, and each column's bind processor.

    The values go through the processors SQLAlchemy would apply, so the row is
    stored exactly as a Core or ORM INSERT stores it, past SQLAlchemy's
    execution layer, which costs more than the statement on a hot path.
    """

    sql: str
    order: tuple[str, ...] | None  # names in placeholder order for a positional paramstyle, else named
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]

    @classmethod
    def of(cls, table: Table, columns: tuple[str, ...], dialect: Dialect) -> _CursorInsert:
        compiled = insert(table).values({name: bindparam(name) for name in columns}).compile(dialect=dialect)
        processors = []
        for name in columns:
            processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
        return cls(
            sql=compiled.string,
            order=tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None,
            processors=tuple(processors),
        )

    def bind(self, values: Mapping[str, Any]) -> _CursorRow:
        processed = dict(values)
        for name, processor in self.processors:
            processed[name] = processor(processed[name])
        if self.order is None:
            return _CursorRow(sql=self.sql, parameters=processed)
        return _CursorRow(sql=self.sql, parameters=tuple(processed[name] for name in self.order))


def _pipelines(dialect: Dialect) -> bool:
    """Whether the rows go in the COMMIT's round trip: PostgreSQL through psycopg 3 (libpq pipelines)."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


# --- Rows waiting in a transaction ------------------------------------------------------------------

_Row = _CursorRow | PipelinedRow


@dataclass(slots=True)
class _Frame:
    """The rows added while ``transaction`` (the root transaction or a savepoint) was the innermost."""

    transaction: Transaction
    rows: list[_Row]


# Keyed by the root transaction object: its rows go when it goes, and a later transaction on the same
# pooled connection is another object, so it can never inherit them.
_PENDING: Final[weakref.WeakKeyDictionary[Transaction, list[_Frame]]] = weakref.WeakKeyDictionary()


def _rows_of(connection: Connection) -> list[_Row]:
    """The list that rows added now go to: the innermost (sub)transaction's."""
    root = connection.get_transaction()
    if root is None:
        raise RuntimeError("InsertAtCommit needs a transaction")  # session.connection() always begins one
    innermost = connection.get_nested_transaction() or root
    frames = _PENDING.get(root)
    if frames is None:
        frames = _PENDING[root] = []
    if not frames or frames[-1].transaction is not innermost:
        frames.append(_Frame(transaction=innermost, rows=[]))
    return frames[-1].rows


def _take_from(connection: Connection, savepoint: Transaction | None) -> list[_Row]:
    """Remove and return the rows of ``savepoint`` and of every savepoint opened inside it."""
    root = connection.get_transaction()
    frames = _PENDING.get(root) if root is not None else None
    if not frames or savepoint is None:
        return []
    for index, frame in enumerate(frames):
        if frame.transaction is savepoint:
            taken = [row for each in frames[index:] for row in each.rows]
            del frames[index:]
            return taken
    return []


def _on_commit(connection: Connection) -> None:
    # Every row still waiting: the root's, and those of savepoints never released, which commit too.
    root = connection.get_transaction()
    frames = _PENDING.pop(root, None) if root is not None else None
    rows = [row for frame in frames or () for row in frame.rows]
    if rows:
        _write(connection, rows, commit=True)


def _on_release_savepoint(connection: Connection, _name: str, _context: Any) -> None:
    rows = _take_from(connection, connection.get_nested_transaction())
    if rows:
        _write(connection, rows, commit=False)


def _on_rollback_savepoint(connection: Connection, _name: str, _context: Any) -> None:
    _take_from(connection, connection.get_nested_transaction())


_WATCHED: Final[weakref.WeakSet[Engine]] = weakref.WeakSet()
_WATCHING: Final = threading.Lock()


def _watch(engine: Engine) -> None:
    """Listen to ``engine``'s commits and savepoints, once."""
    if engine in _WATCHED:
        return
    with _WATCHING:
        if engine in _WATCHED:
            return
        event.listen(engine, "commit", _on_commit)
        event.listen(engine, "release_savepoint", _on_release_savepoint)
        event.listen(engine, "rollback_savepoint", _on_rollback_savepoint)
        _WATCHED.add(engine)


# --- Writing -----------------------------------------------------------------------------------------


def _write(connection: Connection, rows: list[_Row], *, commit: bool) -> None:
    """Send ``rows``, and on PostgreSQL the COMMIT too if ``commit``, before the transaction ends."""
    pipelined = [row for row in rows if isinstance(row, PipelinedRow)]
    for row in rows:
        if isinstance(row, _CursorRow):
            row.send(connection)
    if pipelined:
        _send_pipeline(connection, pipelined, commit=commit)


def _send_pipeline(connection: Connection, rows: list[PipelinedRow], *, commit: bool) -> None:
    """One round trip: every INSERT, the COMMIT if asked, one sync. Any error is SQLAlchemy's.

    psycopg's own ``commit()``, which SQLAlchemy calls next, does nothing once
    the server says the transaction has ended.
    """
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    try:
        failure = send_pipeline(driver_connection.pgconn, rows, commit=commit)
    except connection.dialect.loaded_dbapi.Error as error:
        # Lost mid-pipeline: what the server did is unknown, and so is the protocol's state.
        _raise_as_sqlalchemy(connection, error, statement=rows[0].sql.decode(), lost=True)
    except BaseException:
        connection.invalidate()
        raise
    if failure is not None:
        statement, refused = failure
        _raise_as_sqlalchemy(connection, refused, statement=statement.decode())


def _raise_as_sqlalchemy(
    connection: Connection, error: Any, *, statement: str, cursor: Any = None, lost: bool = False
) -> NoReturn:
    """Raise the driver's ``error`` as SQLAlchemy would have, never quoting the statement's values.

    A lost connection (the dialect says so, or ``lost``: its protocol state is
    unknown) is invalidated first, so the pool never hands it out again.
    """
    dialect = connection.dialect
    invalidated = lost or dialect.is_disconnect(error, connection.connection, cursor)
    if invalidated:
        connection.invalidate(error)
    raise DBAPIError.instance(
        statement,
        None,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=invalidated,
        dialect=dialect,
    ) from error
