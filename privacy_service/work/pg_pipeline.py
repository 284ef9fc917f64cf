"""One libpq pipeline to PostgreSQL: INSERTs encoded for libpq, then COMMIT if asked, in one round trip.

``work.at_commit`` sends the rows a unit of work added this way. psycopg
offers pipelines too, but its pipeline mode and client-side binding each cost
more of the writer's CPU than the round trip they save; psycopg's documented
``pq`` wrapper of libpq does not. Values are encoded here, per column type,
exactly as PostgreSQL reads them: text for strings, timestamps and numbers,
binary for ``bytea``. A column type this module does not know is refused
rather than sent as a guess.

Each INSERT is an unnamed statement, parsed and planned anew (~47 us of
PostgreSQL's CPU on a slow machine, about what the INSERT itself costs). A
named one would be cheaper but cannot be trusted to exist: psycopg sends
DEALLOCATE ALL after a rollback, a DROP or an ALTER once it has prepared
statements of its own, and a statement gone missing would fail the commit of
the change it carries.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from psycopg import OperationalError, errors, pq
from sqlalchemy import Boolean, DateTime, Enum, Integer, LargeBinary, String, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

_TEXT: Final = 0
_BINARY: Final = 1

Encode = Callable[[Any], bytes | None]  # a value as libpq sends it (None: NULL)


@dataclass(frozen=True, slots=True)
class PipelinedRow:
    """One row's INSERT as libpq sends it: ``$n`` placeholders, parameters as bytes with their formats."""

    sql: bytes
    parameters: list[bytes | None]
    formats: list[int]  # a column's format never changes (libpq ignores it for a NULL): shared, never changed


@dataclass(frozen=True, slots=True)
class PipelinedInsert:
    """An INSERT of fixed columns for libpq: ``$n`` placeholders, one encoder a column in their order."""

    sql: bytes
    encoders: tuple[tuple[str, Encode], ...]
    formats: list[int]  # a list, as psycopg's libpq wrapper wants it

    @classmethod
    def of(cls, table: Table, columns: tuple[str, ...], dialect: Dialect) -> PipelinedInsert:
        numbered = cast(Callable[..., Dialect], type(dialect))(paramstyle="numeric_dollar")
        compiled = insert(table).values({name: bindparam(name) for name in columns}).compile(dialect=numbered)
        order = tuple(compiled.positiontup or ())
        codecs = [_codec(table.c[name].type, dialect) for name in order]
        return cls(
            sql=compiled.string.encode(),
            encoders=tuple((name, encode) for name, (_format, encode) in zip(order, codecs, strict=True)),
            formats=[data_format for data_format, _encode in codecs],
        )

    def bind(self, values: Mapping[str, Any]) -> PipelinedRow:
        parameters = [encode(values[name]) for name, encode in self.encoders]
        return PipelinedRow(sql=self.sql, parameters=parameters, formats=self.formats)


def _codec(column_type: TypeEngine[Any], dialect: Dialect) -> tuple[int, Encode]:
    """The format and encoder of ``column_type``'s values, after its own bind processing if it has any."""
    if isinstance(column_type, TypeDecorator):
        decorator = column_type
        data_format, inner = _codec(decorator.impl_instance, dialect)
        return data_format, lambda value: inner(decorator.process_bind_param(value, dialect))
    for kind, data_format, encode in _CODECS:
        if isinstance(column_type, kind) and not isinstance(column_type, Enum):
            return data_format, encode
    raise TypeError(f"cannot send a {column_type!r} column to PostgreSQL")


def _text(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"a text column takes a str, not {type(value).__name__}")
    if "\x00" in value:
        # libpq ends a text parameter at its first NUL: the rest would vanish silently.
        raise ValueError("PostgreSQL text cannot contain NUL (0x00) characters")
    return value.encode()


def _binary(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"a binary column takes bytes, not {type(value).__name__}")
    return bytes(value)


def _timestamp(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"a timestamp column takes a datetime, not {type(value).__name__}")
    return value.isoformat().encode()


def _integer(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"an integer column takes an int, not {type(value).__name__}")
    return str(value).encode()


def _boolean(value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise TypeError(f"a boolean column takes a bool, not {type(value).__name__}")
    return b"t" if value else b"f"


_CODECS: Final[tuple[tuple[type[TypeEngine[Any]], int, Encode], ...]] = (
    (Boolean, _TEXT, _boolean),
    (Integer, _TEXT, _integer),
    (DateTime, _TEXT, _timestamp),
    (LargeBinary, _BINARY, _binary),
    (String, _TEXT, _text),
)


def send_pipeline(
    pgconn: pq.abc.PGconn, rows: list[PipelinedRow], *, commit: bool
) -> tuple[bytes, Exception] | None:
    """Send and read back one pipeline; the first statement that failed and its error, if any.

    After an error the server skips the rest up to the sync (libpq reports them
    as aborted): a failed INSERT leaves the transaction failed and uncommitted,
    and the connection usable. Any exception raised instead (a lost connection)
    leaves the protocol's state unknown: the caller must discard the connection.
    """
    statements = [row.sql for row in rows] + ([b"COMMIT"] if commit else [])  # one result each, in order
    pgconn.enter_pipeline_mode()
    for row in rows:
        pgconn.send_query_params(row.sql, row.parameters, param_formats=row.formats)
    if commit:
        pgconn.send_query_params(b"COMMIT", None)
    pgconn.pipeline_sync()
    failure: tuple[bytes, Exception] | None = None
    for statement, result in zip(statements, _results_through_sync(pgconn), strict=True):
        if result.status == pq.ExecStatus.FATAL_ERROR and failure is None:
            failure = (statement, _error_of(result))
    pgconn.exit_pipeline_mode()
    return failure


def _error_of(result: pq.abc.PGresult) -> Exception:
    """psycopg's exception for a failed result, with PostgreSQL's primary message only: its DETAIL
    quotes values (the duplicate key, for one)."""
    sqlstate = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    message = (result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode()
    try:
        kind = errors.lookup(sqlstate)
    except KeyError:
        kind = errors.DatabaseError
    return kind(message)


def _results_through_sync(pgconn: pq.abc.PGconn) -> Iterator[pq.abc.PGresult]:
    """Each statement's result, then the sync's read but not yielded; waits on the socket without the GIL."""
    socket = pgconn.socket
    while pgconn.flush():  # 1: the non-blocking connection has more to send
        if _wait(socket, write=True):
            pgconn.consume_input()
    while True:
        while pgconn.is_busy():
            _wait(socket)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            if pgconn.status != pq.ConnStatus.OK:
                raise OperationalError("the connection to the server was lost")
            continue
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            return
        yield result


def _wait(socket: int, *, write: bool = False) -> bool:
    """Block, without the GIL, until ``socket`` can be read (or written, if ``write``); True if readable."""
    if not hasattr(select, "poll"):  # Windows
        readable, _, _ = select.select([socket], [socket] if write else [], [])
        return bool(readable)
    poller = select.poll()
    poller.register(socket, select.POLLIN | (select.POLLOUT if write else 0))
    return any(ready & select.POLLIN for _socket, ready in poller.poll())
