"""Rows that ride with the COMMIT: committed with their transaction or not at all, in one round trip.

These tests commit for real, so they work on tables of their own, created and
dropped here, never on the service's tables that other tests share.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    Column,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    event,
    exc,
    func,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core import commit_riders
from privacy_service.core.types import UTCDateTime
from tests.conftest import requires_postgres

_METADATA = MetaData()
HELD = Table(
    "rider_test_held",
    _METADATA,
    Column("id", String(26), primary_key=True),
    Column("note", String(200)),
    Column("at", UTCDateTime()),
    Column("blob", LargeBinary),
)
BUSINESS = Table("rider_test_business", _METADATA, Column("id", String(26), primary_key=True))


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    _METADATA.drop_all(engine)
    _METADATA.create_all(engine)
    try:
        yield sessionmaker(engine, expire_on_commit=False)
    finally:
        _METADATA.drop_all(engine)


def held_row(row_id: str, note: str = "n") -> dict[str, object]:
    return {"id": row_id, "note": note, "at": datetime(2026, 1, 15, 12, tzinfo=UTC), "blob": None}


def ids(sessions: sessionmaker[Session], table: Table) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(table.c.id).order_by(table.c.id)))


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement SQLAlchemy sends on ``engine`` while the test runs (held rows are not among them)."""
    seen: list[str] = []

    def spy(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    yield seen
    event.remove(engine, "before_cursor_execute", spy)


@requires_postgres
def test_a_held_row_is_committed_by_the_commits_own_message(
    sessions: sessionmaker[Session], statements: list[str]
) -> None:
    with sessions() as session:
        session.execute(BUSINESS.insert(), {"id": "b1"})
        commit_riders.insert_with_commit(session, HELD, held_row("h1"))
        session.commit()
    assert ids(sessions, HELD) == ["h1"]
    assert ids(sessions, BUSINESS) == ["b1"]
    assert not [
        statement for statement in statements if "rider_test_held" in statement and "INSERT" in statement
    ]


@requires_postgres
def test_a_rollback_drops_held_rows_and_leaves_the_pooled_connection_clean(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        commit_riders.insert_with_commit(session, HELD, held_row("dropped"))
        session.rollback()
        commit_riders.insert_with_commit(session, HELD, held_row("kept"))
        session.commit()
    with sessions() as session:  # the same pooled connection, a new transaction
        session.execute(BUSINESS.insert(), {"id": "b2"})
        session.commit()
    assert ids(sessions, HELD) == ["kept"]


@requires_postgres
def test_a_read_in_the_same_transaction_sees_held_rows(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        commit_riders.insert_with_commit(session, HELD, held_row("h1"))
        commit_riders.insert_with_commit(session, HELD, held_row("h2"))
        assert session.scalar(select(func.count()).select_from(HELD)) == 2
        session.rollback()
    assert ids(sessions, HELD) == []


@requires_postgres
def test_rolling_back_to_a_savepoint_removes_exactly_the_rows_held_after_it(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        commit_riders.insert_with_commit(session, HELD, held_row("before"))
        savepoint = session.begin_nested()
        commit_riders.insert_with_commit(session, HELD, held_row("inside"))
        savepoint.rollback()
        commit_riders.insert_with_commit(session, HELD, held_row("after"))
        session.commit()
    assert ids(sessions, HELD) == ["after", "before"]


@requires_postgres
def test_a_held_row_that_cannot_be_inserted_rolls_the_whole_transaction_back(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        commit_riders.insert_with_commit(session, HELD, held_row("taken"))
        session.commit()
    with sessions() as session:
        session.execute(BUSINESS.insert(), {"id": "lost"})
        commit_riders.insert_with_commit(session, HELD, held_row("taken"))  # the primary key exists
        with pytest.raises(exc.IntegrityError):
            session.commit()
        session.rollback()
        session.execute(BUSINESS.insert(), {"id": "next"})  # the connection is usable again
        session.commit()
    assert ids(sessions, BUSINESS) == ["next"]
    assert ids(sessions, HELD) == ["taken"]


@requires_postgres
def test_values_arrive_exactly_as_given_whatever_they_contain(sessions: sessionmaker[Session]) -> None:
    hostile = "'); DROP TABLE rider_test_business; -- \\ %s %(x)s $1 ß 李 \u2028"
    berlin = timezone(timedelta(hours=1))
    with sessions() as session:
        commit_riders.insert_with_commit(
            session,
            HELD,
            {
                "id": "h1",
                "note": hostile,
                "at": datetime(2026, 1, 15, 13, tzinfo=berlin),
                "blob": b"\x00\xff'\\",
            },
        )
        commit_riders.insert_with_commit(session, HELD, {**held_row("h2"), "note": None})
        session.commit()
    with sessions() as session:
        rows = session.execute(select(HELD).order_by(HELD.c.id)).all()
    assert rows[0].note == hostile
    assert rows[0].at == datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert rows[0].blob == b"\x00\xff'\\"
    assert rows[1].note is None
    assert ids(sessions, BUSINESS) == []  # still there, and empty


def test_without_the_riders_a_row_is_inserted_at_once(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    """SQLite, or an engine made without ``install``: the row is in the table from the call on."""
    if engine.dialect.name == "postgresql":
        pytest.skip("the service's PostgreSQL engine has the riders installed")
    with sessions() as session:
        commit_riders.insert_with_commit(session, HELD, held_row("h1"))
        assert session.scalar(select(func.count()).select_from(HELD)) == 1
        session.commit()
    assert ids(sessions, HELD) == ["h1"]
