"""Rows a unit of work writes as it commits (on PostgreSQL, in the COMMIT's own round trip).

These tests commit for real, on connections of their own, in a table created
for each test beside the suite's rolled-back transaction; the last ones run in
the suite's usual savepoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from privacy_service.core.clock import FrozenClock
from privacy_service.core.ids import new_id
from privacy_service.core.types import UTCDateTime
from privacy_service.keys.service import Keyring
from privacy_service.work import InsertAtCommit, Work
from tests.conftest import requires_postgres
from tests.support.database import backend_pid, stored_row, terminate_backend


def _notes_table() -> Table:
    return Table(
        "test_commit_notes",
        MetaData(),
        Column("id", String(26), primary_key=True),
        Column("at", UTCDateTime(), nullable=False),
        Column("body", LargeBinary()),
        Column("label", String(32)),
    )


@pytest.fixture
def notes(engine: Engine) -> Iterator[Table]:
    """The table, committed, for tests that commit on connections of their own."""
    table = _notes_table()
    table.create(engine)
    try:
        yield table
    finally:
        table.drop(engine)


@pytest.fixture
def notes_here(connection: Connection) -> Table:
    """The table inside the test's own transaction, for tests in the suite's savepoints."""
    table = _notes_table()
    table.create(connection)
    return table


@pytest.fixture
def writes(notes: Table) -> InsertAtCommit:
    return InsertAtCommit(notes, columns=("id", "at", "body", "label"))


@pytest.fixture
def unit(clock: FrozenClock, keyring: Keyring) -> Callable[[Session], Work]:
    """A unit of work on a session of the test's own."""
    return lambda session: Work(session=session, clock=clock, keyring=keyring)


def _note(label: str | None = "x", **values: object) -> dict[str, object]:
    return {"id": new_id(), "at": datetime.now(UTC), "body": None, "label": label, **values}


def _ids(engine: Engine, notes: Table) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(notes.c.id)).scalars())


def test_a_row_is_written_as_its_transaction_commits_exactly_as_a_core_insert_stores_it(
    engine: Engine, notes: Table, writes: InsertAtCommit, unit: Callable[[Session], Work]
) -> None:
    paris = timezone(timedelta(hours=1))
    values = {
        "at": datetime(2026, 3, 1, 13, 30, 0, 250, tzinfo=paris),
        "body": b"\x00binary\xff",
        "label": "é",
    }
    added, core = new_id(), new_id()
    with Session(engine) as session:
        work = unit(session)
        work.insert_at_commit(writes, {"id": added, **values})
        session.connection().execute(insert(notes), {"id": core, **values})
        # Not yet sent: the transaction itself does not see it, and nobody else does.
        assert session.connection().execute(select(notes.c.id)).scalars().all() == [core]
        work.commit()
    assert _ids(engine, notes) == {added, core}
    with engine.connect() as connection:
        assert stored_row(connection, notes, added) == stored_row(connection, notes, core)
        read = connection.execute(select(notes.c.at, notes.c.body).where(notes.c.id == added)).one()
    assert read.at == values["at"]
    assert read.at.tzinfo == UTC
    assert read.body == b"\x00binary\xff"


def test_every_row_of_a_transaction_is_written_by_every_insert_that_added_one(
    engine: Engine, notes: Table, writes: InsertAtCommit, unit: Callable[[Session], Work]
) -> None:
    labels_only = InsertAtCommit(notes, columns=("id", "at", "label"))
    rows = [_note(label=f"row {index}") for index in range(5)]
    with Session(engine) as session:
        work = unit(session)
        for index, row in enumerate(rows):
            if index % 2:
                work.insert_at_commit(labels_only, {key: row[key] for key in ("id", "at", "label")})
            else:
                work.insert_at_commit(writes, row)
        work.commit()
    assert _ids(engine, notes) == {row["id"] for row in rows}


def test_a_transaction_that_rolls_back_drops_its_rows_and_the_next_one_on_its_connection_never_sends_them(
    engine: Engine, notes: Table, writes: InsertAtCommit, unit: Callable[[Session], Work]
) -> None:
    one_connection = create_engine(engine.url, poolclass=StaticPool)  # every transaction on the same one
    dropped, closed_unfinished, kept = _note(), _note(), _note()
    try:
        with Session(one_connection) as session:
            work = unit(session)
            work.insert_at_commit(writes, dropped)
            work.rollback()
            work.insert_at_commit(writes, kept)
            work.commit()
        with Session(one_connection) as session:
            work = unit(session)
            work.insert_at_commit(writes, closed_unfinished)  # closed without commit: the pool rolls it back
        with Session(one_connection) as session:
            work = unit(session)
            session.connection()
            work.commit()  # a later transaction on that connection, with no rows of its own
    finally:
        one_connection.dispose()
    assert _ids(engine, notes) == {kept["id"]}


def test_a_row_the_database_refuses_fails_the_commit_and_nothing_of_the_transaction_commits(
    engine: Engine, notes: Table, writes: InsertAtCommit, unit: Callable[[Session], Work]
) -> None:
    existing = _note()
    with Session(engine) as session:
        work = unit(session)
        work.insert_at_commit(writes, existing)
        work.commit()
    business = _note(label="business change")
    with Session(engine) as session:
        work = unit(session)
        session.connection().execute(insert(notes), business)
        work.insert_at_commit(
            writes, {**_note(label="alice@example.com"), "id": existing["id"]}
        )  # a duplicate key
        with pytest.raises(IntegrityError) as raised:
            work.commit()
        assert "alice@example.com" not in str(raised.value)  # never the values
        assert existing["id"] not in str(raised.value)
        assert "test_commit_notes" in str(raised.value)  # the statement is named
        work.rollback()
        after = _note(label="the session goes on")
        work.insert_at_commit(writes, after)
        work.commit()
    assert _ids(engine, notes) == {existing["id"], after["id"]}


class _Refused(Exception):
    pass


def _add_then_refuse(
    work: Work, writes: InsertAtCommit, row: dict[str, object], *, nested: bool = False
) -> None:
    """Add ``row`` in a savepoint (or in one inside it, released) that then raises."""
    with work.savepoint():
        if nested:
            with work.savepoint():
                work.insert_at_commit(writes, row)
        else:
            work.insert_at_commit(writes, row)
        raise _Refused()


def test_rows_added_in_a_savepoint_are_dropped_with_it_and_kept_when_it_is_released(
    engine: Engine, notes: Table, writes: InsertAtCommit, unit: Callable[[Session], Work]
) -> None:
    before, in_released, in_rolled_back, inner, after = _note(), _note(), _note(), _note(), _note()
    with Session(engine) as session:
        work = unit(session)
        work.insert_at_commit(writes, before)
        with work.savepoint():
            work.insert_at_commit(writes, in_released)
        with pytest.raises(_Refused):
            _add_then_refuse(work, writes, in_rolled_back)
        with pytest.raises(_Refused):
            _add_then_refuse(work, writes, inner, nested=True)  # released, inside one rolled back
        work.insert_at_commit(writes, after)
        # Nothing is sent before the commit: the transaction does not see its own rows yet.
        assert session.connection().execute(select(notes.c.id)).scalars().all() == []
        work.commit()
    assert _ids(engine, notes) == {before["id"], in_released["id"], after["id"]}


def test_what_waits_for_the_commit_runs_after_it_and_never_after_a_rollback(
    engine: Engine, notes: Table, writes: InsertAtCommit, unit: Callable[[Session], Work]
) -> None:
    seen: list[set[str]] = []
    row, dropped = _note(), _note()
    with Session(engine) as session:
        work = unit(session)
        work.insert_at_commit(writes, dropped)
        work.after_commit(lambda: seen.append({"rolled back"}))
        work.rollback()
        work.insert_at_commit(writes, row)
        work.after_commit(lambda: seen.append(_ids(engine, notes)))  # another connection sees the row
        work.commit()
    assert seen == [{row["id"]}]


def test_values_are_checked_when_added_not_at_commit(session: Session, notes_here: Table, work: Work) -> None:
    writes = InsertAtCommit(notes_here, columns=("id", "at", "label"))
    with pytest.raises(ValueError, match="exactly"):
        work.insert_at_commit(writes, {"id": new_id(), "at": datetime.now(UTC)})  # no label
    with pytest.raises(ValueError, match="naive"):
        work.insert_at_commit(writes, {"id": new_id(), "at": datetime(2026, 3, 1, 12, 0), "label": None})  # noqa: DTZ001 -- the naive value is the point
    work.commit()  # nothing was added
    assert session.execute(select(func.count()).select_from(notes_here)).scalar_one() == 0


def test_rows_added_in_a_unit_of_work_of_the_suite_are_written_when_it_commits(
    session: Session, notes_here: Table, work: Work
) -> None:
    """The suite's sessions commit by releasing a savepoint of the test's own transaction."""
    row = _note()
    work.insert_at_commit(InsertAtCommit(notes_here, columns=("id", "at", "body", "label")), row)
    work.commit()
    assert session.execute(select(notes_here.c.id)).scalars().all() == [row["id"]]


@requires_postgres
def test_postgresql_text_with_a_nul_or_a_value_of_the_wrong_type_is_refused_when_added(
    session: Session, notes_here: Table, work: Work
) -> None:
    """libpq ends a text parameter at its first NUL: sent, the rest of the value would vanish silently."""
    writes = InsertAtCommit(notes_here, columns=("id", "at", "body", "label"))
    with pytest.raises(ValueError, match="NUL"):
        work.insert_at_commit(writes, _note(label="before\x00after"))
    with pytest.raises(TypeError, match="str"):
        work.insert_at_commit(writes, _note(label=42))
    with pytest.raises(TypeError, match="bytes"):
        work.insert_at_commit(writes, _note(body="not bytes"))


@requires_postgres
def test_a_column_type_it_cannot_encode_is_refused_rather_than_sent_as_a_guess(
    session: Session, work: Work
) -> None:
    table = Table(
        "test_commit_json", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JSON)
    )
    with pytest.raises(TypeError, match="JSON"):
        work.insert_at_commit(InsertAtCommit(table, columns=("id", "doc")), {"id": 1, "doc": {}})


@requires_postgres
def test_a_connection_lost_before_the_commit_fails_it_and_is_invalidated(
    engine: Engine, notes: Table, writes: InsertAtCommit, unit: Callable[[Session], Work]
) -> None:
    row = _note()
    session = Session(engine)
    work = unit(session)
    try:
        work.insert_at_commit(writes, row)
        terminate_backend(engine, backend_pid(session.connection()))
        with pytest.raises(DBAPIError) as raised:
            work.commit()
        assert raised.value.connection_invalidated
    finally:
        work.rollback()
        session.close()
    assert _ids(engine, notes) == set()
    with Session(engine) as fresh:  # the pool hands out a working connection again
        work = unit(fresh)
        work.insert_at_commit(writes, row)
        work.commit()
    assert _ids(engine, notes) == {row["id"]}


@requires_postgres
def test_a_commit_the_database_refuses_is_sqlalchemys_error_and_leaves_nothing(
    engine: Engine, unit: Callable[[Session], Work]
) -> None:
    """A constraint checked only at COMMIT: the INSERTs pass, the COMMIT in the same pipeline fails."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE test_commit_deferred (id varchar(26) PRIMARY KEY, label varchar(32),"
                " CONSTRAINT test_commit_deferred_label UNIQUE (label) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    table = Table("test_commit_deferred", MetaData(), Column("id", String(26)), Column("label", String(32)))
    writes = InsertAtCommit(table, columns=("id", "label"))
    try:
        with Session(engine) as session:
            work = unit(session)
            work.insert_at_commit(writes, {"id": new_id(), "label": "twice"})
            work.insert_at_commit(writes, {"id": new_id(), "label": "twice"})
            with pytest.raises(IntegrityError) as raised:
                work.commit()
            assert "COMMIT" in str(raised.value)
            assert "twice" not in str(raised.value)
            work.rollback()
            work.insert_at_commit(writes, {"id": new_id(), "label": "once"})
            work.commit()
        with engine.connect() as connection:
            assert connection.execute(select(table.c.label)).scalars().all() == ["once"]
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE test_commit_deferred"))


_KINDS = ("id", "count", "flag", "at", "stamped")


def _kinds_table() -> Table:
    """A column of each kind the pipeline encodes besides text and bytes; ``at`` through UTCDateTime."""
    return Table(
        "test_commit_kinds",
        MetaData(),
        Column("id", String(26), primary_key=True),
        Column("count", Integer),
        Column("flag", Boolean),
        Column("at", UTCDateTime()),
        Column("stamped", DateTime(timezone=True)),
    )


@requires_postgres
def test_integers_booleans_and_nulls_are_stored_as_a_core_insert_stores_them(
    work: Work, connection: Connection
) -> None:
    table = _kinds_table()
    table.create(connection)
    writes = InsertAtCommit(table, columns=_KINDS)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    rows = [
        {"id": new_id(), "count": -7, "flag": True, "at": at, "stamped": at},
        {"id": new_id(), "count": 0, "flag": False, "at": None, "stamped": None},
        {"id": new_id(), "count": None, "flag": None, "at": None, "stamped": None},
    ]
    for row in rows:
        work.insert_at_commit(writes, row)
    work.commit()
    stored = {row.id: row for row in connection.execute(select(table))}
    for row in rows:
        assert tuple(stored[str(row["id"])]) == tuple(row[name] for name in _KINDS)


@requires_postgres
@pytest.mark.parametrize(
    ("column", "value", "named"),
    [
        ("count", True, "int"),
        ("count", "7", "int"),
        ("flag", 1, "bool"),
        ("at", "2026-03-01", "datetime"),
        ("stamped", "2026-03-01", "datetime"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_when_added(
    work: Work, column: str, value: object, named: str
) -> None:
    writes = InsertAtCommit(_kinds_table(), columns=_KINDS)
    row: dict[str, object] = {"id": new_id(), "count": None, "flag": None, "at": None, "stamped": None}
    with pytest.raises(TypeError, match=named):
        work.insert_at_commit(writes, {**row, column: value})
