"""Rows a unit of work writes as it commits: on PostgreSQL, in the COMMIT's own round trip.

For the row every audited change adds, its audit event, and a login's session
and refresh token. Written at once, on PostgreSQL such a row costs a round
trip of its own: the writer waits for the server, hands the interpreter lock
back and forth, and an audited transaction made a quarter to a third fewer
commits a second than the same transaction without its event
(``benchmarks/audit_append.py``). Added to the unit of work instead
(``Work.insert_at_commit``), the row waits with it and goes to the server when
it commits: its INSERT and the COMMIT are sent as one libpq pipeline and
answered together (``work.pg_pipeline``), so an audited transaction makes no
more round trips than an unaudited one. Elsewhere (SQLite, in process) the
rows are sent through the driver just before the COMMIT.

What it earns, measured on this code (2026-12-07, ``audit_append.py``'s
"with trail" against "event own trip", eight writers on two cores, two runs):
1.26x and 1.23x the audited transactions a second, paired medians (best
rounds 1.32x and 1.02x), and 0.77 ms of CPU a transaction against 1.06 ms in
the quieter run. Kept for that: a login writes three rows this way.

Nothing listens to the engine: ``Work.commit`` calls ``write`` itself, so what
a unit of work writes at its commit is what its own code asked for. Each value
is checked and encoded when it is added, so a bad one fails at the call that
adds it; a row the database refuses fails the commit (SQLAlchemy's error,
never quoting values) and nothing of the unit of work commits. Until then the
unit of work cannot read these rows back: use this only for rows it never
reads back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from sqlalchemy import Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from privacy_service.core.db import Base
from privacy_service.work.pg_pipeline import PipelinedInsert, PipelinedRow, send_pipeline


class InsertAtCommit:
    """An INSERT of one row with fixed columns, prepared once per database dialect."""

    def __init__(self, table: Table | type[Base], columns: Sequence[str]) -> None:
        self._table = table if isinstance(table, Table) else cast(Table, table.__table__)
        self._columns = tuple(columns)
        self._names = frozenset(self._columns)
        self._prepared: dict[tuple[str, str], _DriverInsert | PipelinedInsert] = {}

    def bind(self, dialect: Dialect, values: Mapping[str, Any]) -> PendingRow:
        """One row, checked and encoded now; ``values`` names exactly the columns."""
        if values.keys() != self._names:
            raise ValueError(f"{self._table.name}: the values must name exactly {sorted(self._names)}")
        prepared = self._prepared.get((dialect.name, dialect.driver))
        if prepared is None:
            prepared = self._prepared[(dialect.name, dialect.driver)] = (
                PipelinedInsert.of(self._table, self._columns, dialect)
                if _pipelines(dialect)
                else _DriverInsert.of(self._table, self._columns, dialect)
            )
        return prepared.bind(values)


# --- Elsewhere (SQLite): sent through the driver, just before COMMIT -----------------------------


@dataclass(frozen=True, slots=True)
class _DriverRow:
    """One row's INSERT with its parameters, as the driver takes them."""

    sql: str
    parameters: tuple[Any, ...] | dict[str, Any]

    def send(self, connection: Connection) -> None:
        handle = connection.connection.cursor()  # the driver's handle for one statement
        try:
            handle.execute(self.sql, self.parameters)
        except connection.dialect.loaded_dbapi.Error as error:
            _raise_as_sqlalchemy(connection, error, statement=self.sql, handle=handle)
        finally:
            handle.close()


@dataclass(frozen=True, slots=True)
class _DriverInsert:
    """The statement sent through the driver, compiled once, and each column's bind processor.

    The values go through the processors SQLAlchemy would apply, so the row is
    stored exactly as a Core or ORM INSERT stores it, past SQLAlchemy's
    execution layer, which costs more than the statement on a hot path.
    """

    sql: str
    order: tuple[str, ...] | None  # names in placeholder order for a positional paramstyle, else named
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]

    @classmethod
    def of(cls, table: Table, columns: tuple[str, ...], dialect: Dialect) -> _DriverInsert:
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

    def bind(self, values: Mapping[str, Any]) -> _DriverRow:
        processed = dict(values)
        for name, processor in self.processors:
            processed[name] = processor(processed[name])
        if self.order is None:
            return _DriverRow(sql=self.sql, parameters=processed)
        return _DriverRow(sql=self.sql, parameters=tuple(processed[name] for name in self.order))


def _pipelines(dialect: Dialect) -> bool:
    """Whether the rows go in the COMMIT's round trip: PostgreSQL through psycopg 3 (libpq pipelines)."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


PendingRow = _DriverRow | PipelinedRow


# --- Writing -----------------------------------------------------------------------------------------


def write(connection: Connection, rows: Sequence[PendingRow], *, commit: bool) -> None:
    """Send ``rows`` in ``connection``'s transaction; on PostgreSQL with the COMMIT too if ``commit``.

    Once the pipeline's COMMIT has ended the transaction on the server,
    psycopg's own ``commit()``, which SQLAlchemy calls next, does nothing;
    elsewhere that call is the COMMIT.
    """
    pipelined = [row for row in rows if isinstance(row, PipelinedRow)]
    for row in rows:
        if isinstance(row, _DriverRow):
            row.send(connection)
    if pipelined:
        _send_pipeline(connection, pipelined, commit=commit)


def _send_pipeline(connection: Connection, rows: list[PipelinedRow], *, commit: bool) -> None:
    """One round trip: every INSERT, the COMMIT if asked, one sync. Any error is SQLAlchemy's."""
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
    connection: Connection, error: Any, *, statement: str, handle: Any = None, lost: bool = False
) -> NoReturn:
    """Raise the driver's ``error`` as SQLAlchemy would have, never quoting the statement's values.

    A lost connection (the dialect says so, or ``lost``: its protocol state is
    unknown) is invalidated first, so the pool never hands it out again.
    """
    dialect = connection.dialect
    invalidated = lost or dialect.is_disconnect(error, connection.connection, handle)
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
