"""Workplace.open: one unit of work that commits once, rolls back on error, and keeps a refusal's
bookkeeping only when it was asked to, where it was asked."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core.clock import FrozenClock
from privacy_service.core.errors import DomainError
from privacy_service.core.logging import request_id_var
from privacy_service.keys.service import Keyring
from privacy_service.work import Work, Workplace


@pytest.fixture
def workplace(sessions: sessionmaker[Session], clock: FrozenClock, keyring: Keyring) -> Workplace:
    workplace = Workplace(sessions=sessions, clock=clock, keyring=keyring)
    with workplace.open() as work:
        work.session.execute(text("CREATE TABLE test_units (id INTEGER PRIMARY KEY)"))
    return workplace


def _insert(work: Work, row: int) -> None:
    work.session.execute(text("INSERT INTO test_units (id) VALUES (:id)"), {"id": row})


def _rows(sessions: sessionmaker[Session]) -> list[int]:
    with Session(bind=sessions.kw["bind"]) as reader:
        return list(reader.execute(text("SELECT id FROM test_units ORDER BY id")).scalars())


def _crash(workplace: Workplace, row: int, error: BaseException, *, keep: bool = False) -> None:
    with workplace.open() as work:
        _insert(work, row)
        if keep:
            work.keep_when_refused()
        raise error


def _refuse_after_asking(workplace: Workplace, action: Callable[[], None]) -> None:
    with workplace.open() as work:
        work.after_commit(action)
        raise DomainError()


def test_a_unit_of_work_commits_once_when_its_block_ends(
    workplace: Workplace, sessions: sessionmaker[Session]
) -> None:
    with workplace.open() as work:
        _insert(work, 1)
        _insert(work, 2)
    assert _rows(sessions) == [1, 2]


def test_a_unit_of_work_that_raises_leaves_nothing_behind(
    workplace: Workplace, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(RuntimeError):
        _crash(workplace, 1, RuntimeError("crash mid-request"))
    with pytest.raises(DomainError):
        _crash(workplace, 2, DomainError())  # an ordinary refusal rolls back
    assert _rows(sessions) == []


def test_a_refusal_keeps_its_bookkeeping_only_where_the_unit_of_work_was_told_to(
    workplace: Workplace, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(DomainError):
        _crash(workplace, 1, DomainError(), keep=True)
    with pytest.raises(RuntimeError):
        _crash(workplace, 2, RuntimeError("a crash is no refusal"), keep=True)
    assert _rows(sessions) == [1]


def test_an_action_after_the_commit_runs_once_it_has_committed_and_never_after_a_rollback(
    workplace: Workplace, sessions: sessionmaker[Session]
) -> None:
    seen: list[list[int]] = []
    with workplace.open() as work:
        _insert(work, 1)
        work.after_commit(lambda: seen.append(_rows(sessions)))
    assert seen == [[1]]
    with pytest.raises(DomainError):
        _refuse_after_asking(workplace, lambda: seen.append([-1]))
    assert seen == [[1]]


def test_an_action_after_the_commit_that_fails_is_logged_and_the_change_stands(
    workplace: Workplace, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("the worker is gone")

    with caplog.at_level(logging.ERROR), workplace.open() as work:
        _insert(work, 1)
        work.after_commit(broken)
    assert _rows(sessions) == [1]
    assert "after a commit failed" in caplog.text


def test_the_request_id_is_the_http_requests_unless_given(workplace: Workplace) -> None:
    token = request_id_var.set("req-from-the-edge")
    try:
        with workplace.open() as work:
            assert work.request_id == "req-from-the-edge"
        with workplace.open(request_id="req-given") as work:
            assert work.request_id == "req-given"
    finally:
        request_id_var.reset(token)
    with workplace.open() as work:
        assert work.request_id is None
