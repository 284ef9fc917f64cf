"""``InsertAtCommit``: rows a transaction adds, sent as it commits (on PostgreSQL, with the COMMIT).

For the row every audited change adds, its audit event. Written at once, on
PostgreSQL it costs a round trip of its own: the writer waits for the server,
hands the interpreter lock back and forth, and an audited transaction made a
quarter fewer commits a second than the same transaction without its event
(``benchmarks/audit_append.py``). Added here, the row waits with the
transaction and goes to the server when the transaction commits: its INSERT
and the COMMIT are sent as one libpq pipeline and answered together, so an
audited transaction makes no more round trips than an unaudited one.

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

import select
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from psycopg import OperationalError, errors, pq
from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Engine,
    Enum,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    event,
    insert,
)
from sqlalchemy.engine import Dialect, Transaction
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator, TypeEngine

from privacy_service.core.db import Base, BoundInsert, DriverInsert, raise_driver_error

_TEXT: Final = 0
_BINARY: Final = 1

Encoded = tuple[bytes | None, int]  # a libpq parameter and its format


class InsertAtCommit:
    """An INSERT of one row with fixed columns, sent when the transaction it was added in commits."""

    def __init__(self, table: Table | type[Base], columns: Sequence[str]) -> None:
        self._table = table if isinstance(table, Table) else cast(Table, table.__table__)
        self._columns = tuple(columns)
        self._driver = DriverInsert(self._table, self._columns)
        self._pipelined: dict[str, _PipelinedInsert] = {}

    def add(self, session: Session, values: Mapping[str, Any]) -> None:
        """Add one row to the session's transaction; ``values`` names exactly the columns."""
        connection = session.connection()
        _watch(connection.engine)
        dialect = connection.dialect
        row: _Row
        if _pipelines(dialect):
            pipelined = self._pipelined.get(dialect.driver)
            if pipelined is None:
                pipelined = self._pipelined[dialect.driver] = _PipelinedInsert.of(
                    self._table, self._columns, dialect
                )
            row = pipelined.bind(values)
        else:
            row = self._driver.bind(dialect, values)
        _rows_of(connection).append(row)


# --- PostgreSQL: parameters encoded for libpq ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PipelinedRow:
    """One row's INSERT as libpq sends it: ``$n`` placeholders, parameters as bytes with their formats."""

    sql: bytes
    parameters: list[bytes | None]
    formats: list[int]


@dataclass(frozen=True, slots=True)
class _PipelinedInsert:
    """``InsertAtCommit``'s statement on PostgreSQL, with one encoder a column in placeholder order."""

    table: str
    sql: bytes
    names: frozenset[str]
    encoders: tuple[tuple[str, Callable[[Any], Encoded]], ...]

    @classmethod
    def of(cls, table: Table, columns: tuple[str, ...], dialect: Dialect) -> _PipelinedInsert:
        numbered = cast(Callable[..., Dialect], type(dialect))(paramstyle="numeric_dollar")
        compiled = insert(table).values({name: bindparam(name) for name in columns}).compile(dialect=numbered)
        order = tuple(compiled.positiontup or ())
        return cls(
            table=table.name,
            sql=compiled.string.encode(),
            names=frozenset(columns),
            encoders=tuple((name, _encoder(table.c[name].type, dialect)) for name in order),
        )

    def bind(self, values: Mapping[str, Any]) -> _PipelinedRow:
        if values.keys() != self.names:
            raise ValueError(f"{self.table}: the values must name exactly {sorted(self.names)}")
        parameters: list[bytes | None] = []
        formats: list[int] = []
        for name, encode in self.encoders:
            data, data_format = encode(values[name])
            parameters.append(data)
            formats.append(data_format)
        return _PipelinedRow(sql=self.sql, parameters=parameters, formats=formats)


def _encoder(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Encoded]:
    """How a value of ``column_type`` goes to PostgreSQL, after its own bind processing if it has any."""
    if isinstance(column_type, TypeDecorator):
        decorator = column_type
        inner = _encoder(decorator.impl_instance, dialect)
        return lambda value: inner(decorator.process_bind_param(value, dialect))
    for kind, encode in _ENCODERS:
        if isinstance(column_type, kind) and not isinstance(column_type, Enum):
            return encode
    raise TypeError(f"InsertAtCommit cannot send a {column_type!r} column to PostgreSQL")


def _text(value: Any) -> Encoded:
    if value is None:
        return None, _TEXT
    if not isinstance(value, str):
        raise TypeError(f"a text column takes a str, not {type(value).__name__}")
    if "\x00" in value:
        # libpq ends a text parameter at its first NUL: the rest would vanish silently.
        raise ValueError("PostgreSQL text cannot contain NUL (0x00) characters")
    return value.encode(), _TEXT


def _binary(value: Any) -> Encoded:
    if value is None:
        return None, _BINARY
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"a binary column takes bytes, not {type(value).__name__}")
    return bytes(value), _BINARY


def _timestamp(value: Any) -> Encoded:
    if value is None:
        return None, _TEXT
    if not isinstance(value, datetime):
        raise TypeError(f"a timestamp column takes a datetime, not {type(value).__name__}")
    return value.isoformat().encode(), _TEXT


def _integer(value: Any) -> Encoded:
    if value is None:
        return None, _TEXT
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"an integer column takes an int, not {type(value).__name__}")
    return str(value).encode(), _TEXT


def _boolean(value: Any) -> Encoded:
    if value is None:
        return None, _TEXT
    if not isinstance(value, bool):
        raise TypeError(f"a boolean column takes a bool, not {type(value).__name__}")
    return (b"t" if value else b"f"), _TEXT


_ENCODERS: Final[tuple[tuple[type[TypeEngine[Any]], Callable[[Any], Encoded]], ...]] = (
    (Boolean, _boolean),
    (Integer, _integer),
    (DateTime, _timestamp),
    (LargeBinary, _binary),
    (String, _text),
)


def _pipelines(dialect: Dialect) -> bool:
    """Whether the rows go in the COMMIT's round trip: PostgreSQL through psycopg 3 (libpq pipelines)."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


# --- Rows waiting in a transaction ------------------------------------------------------------------

_Row = BoundInsert | _PipelinedRow


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
    pipelined = [row for row in rows if isinstance(row, _PipelinedRow)]
    for row in rows:
        if isinstance(row, BoundInsert):
            row.send(connection)
    if pipelined:
        _send_pipeline(connection, pipelined, commit=commit)


def _send_pipeline(connection: Connection, rows: list[_PipelinedRow], *, commit: bool) -> None:
    """One round trip: every INSERT, the COMMIT if asked, one sync. Any error is SQLAlchemy's.

    psycopg's own ``commit()``, which SQLAlchemy calls next, does nothing once
    the server says the transaction has ended.
    """
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    pgconn = driver_connection.pgconn
    statements = [row.sql for row in rows] + ([b"COMMIT"] if commit else [])
    try:
        failure = _pipeline(pgconn, rows, commit=commit)
    except connection.dialect.loaded_dbapi.Error as error:
        # Lost mid-pipeline: what the server did is unknown, and so is the protocol's state.
        raise_driver_error(connection, error, statement=statements[0].decode(), parameters=(), lost=True)
    except BaseException:
        connection.invalidate()
        raise
    if failure is not None:
        index, refused = failure
        raise_driver_error(connection, refused, statement=statements[index].decode(), parameters=())


def _pipeline(
    pgconn: pq.abc.PGconn, rows: list[_PipelinedRow], *, commit: bool
) -> tuple[int, Exception] | None:
    """Send and read back one pipeline; the first failed statement's index and error, if any.

    After an error the server skips the rest up to the sync (libpq reports them
    as aborted): a failed INSERT leaves the transaction failed and uncommitted.
    """
    pgconn.enter_pipeline_mode()
    for row in rows:
        pgconn.send_query_params(row.sql, row.parameters, param_formats=row.formats)
    if commit:
        pgconn.send_query_params(b"COMMIT", None)
    pgconn.pipeline_sync()
    failure: tuple[int, Exception] | None = None
    for index, result in enumerate(_results_through_sync(pgconn)):
        if result.status == pq.ExecStatus.FATAL_ERROR and failure is None:
            sqlstate = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
            message = (result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode()
            try:
                kind = errors.lookup(sqlstate)
            except KeyError:
                kind = errors.DatabaseError
            failure = (index, kind(message))  # the primary message only: PostgreSQL's DETAIL quotes values
    pgconn.exit_pipeline_mode()
    return failure


def _results_through_sync(pgconn: pq.abc.PGconn) -> Iterator[pq.abc.PGresult]:
    """Every statement's result, then the sync's, waiting on the socket (never holding the GIL)."""
    socket = pgconn.socket
    while pgconn.flush():  # 1: the non-blocking connection has more to send
        if _wait(socket, select.POLLIN | select.POLLOUT) & select.POLLIN:
            pgconn.consume_input()
    while True:
        while pgconn.is_busy():
            _wait(socket, select.POLLIN)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            if pgconn.status != pq.ConnStatus.OK:
                raise OperationalError("the connection to the server was lost")
            continue
        yield result
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            return


def _wait(socket: int, events: int) -> int:
    poller = select.poll()
    poller.register(socket, events)
    for _socket, ready in poller.poll():
        return ready
    return 0
