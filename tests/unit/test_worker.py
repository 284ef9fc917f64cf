from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core.clock import FrozenClock
from privacy_service.keys.service import Keyring
from privacy_service.work import Work, Workplace
from privacy_service.worker import Job, Worker


@pytest.fixture
def ledger(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as session:
        session.execute(text("CREATE TABLE test_ledger (entry VARCHAR(20))"))
    return sessions


@pytest.fixture
def workplace(ledger: sessionmaker[Session], clock: FrozenClock, keyring: Keyring) -> Workplace:
    return Workplace(sessions=ledger, clock=clock, keyring=keyring)


def entries(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.execute(text("SELECT entry FROM test_ledger ORDER BY entry")).scalars())


def write(entry: str, *, then_fail: bool = False):  # type: ignore[no-untyped-def]
    def job(work: Work) -> None:
        work.session.execute(text("INSERT INTO test_ledger (entry) VALUES (:e)"), {"e": entry})
        if then_fail:
            raise RuntimeError("job crashed after writing")

    return job


def test_each_job_commits_its_own_work(ledger: sessionmaker[Session], workplace: Workplace) -> None:
    worker = Worker(workplace=workplace, jobs=[Job("a", write("a"), every_seconds=60)])
    assert worker.run_once() == 1
    assert entries(ledger) == ["a"]


def test_a_failing_job_rolls_back_alone_and_the_others_still_run(
    ledger: sessionmaker[Session], workplace: Workplace, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = [
        Job("broken", write("broken", then_fail=True), every_seconds=60),
        Job("ok", write("ok"), every_seconds=60),
    ]
    worker = Worker(workplace=workplace, jobs=jobs)
    with caplog.at_level(logging.ERROR):
        assert worker.run_once() == 2
    assert entries(ledger) == ["ok"]
    assert any(getattr(record, "job", None) == "broken" for record in caplog.records)


def test_a_job_does_not_run_again_before_its_interval(
    ledger: sessionmaker[Session], workplace: Workplace
) -> None:
    worker = Worker(workplace=workplace, jobs=[Job("a", write("a"), every_seconds=3600)])
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert entries(ledger) == ["a"]


def test_stopping_lets_the_job_in_flight_finish_and_starts_no_other(
    ledger: sessionmaker[Session], workplace: Workplace
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(work: Work) -> None:
        started.set()
        release.wait(5)
        write("slow")(work)

    jobs = [Job("slow", slow, every_seconds=60), Job("next", write("next"), every_seconds=60)]
    worker = Worker(workplace=workplace, jobs=jobs, poll_seconds=0.01)
    worker.start_in_thread()
    assert started.wait(5)
    worker.stop()
    release.set()
    assert worker.join(5)
    assert entries(ledger) == ["slow"]


def test_waking_runs_the_jobs_that_wait_for_new_tasks_before_their_next_turn(
    ledger: sessionmaker[Session], workplace: Workplace
) -> None:
    runs = threading.Semaphore(0)

    def deliver(_work: Work) -> None:
        runs.release()

    jobs = [
        Job("deliver", deliver, every_seconds=3600, wakes_on_new_tasks=True),
        Job("other", write("other"), every_seconds=3600),
    ]
    worker = Worker(workplace=workplace, jobs=jobs, poll_seconds=3600)
    worker.start_in_thread()
    try:
        assert runs.acquire(timeout=10)  # the first turn
        worker.wake()
        assert runs.acquire(timeout=10), "woken, the job ran again without waiting an hour for its turn"
    finally:
        worker.stop()
        assert worker.join(10)
    assert entries(ledger) == ["other"]  # the other job kept to its interval
