"""The bounded password pool: under a flood it answers 503 at once instead of queueing without bound."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from privacy_service.crypto import InvalidPassword
from privacy_service.identity.hashing_pool import HashingBusy, PasswordWorkPool

WAIT = 5.0  # the longest any test waits for a thread; reached only when something is broken


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll a condition that other threads make true; fail instead of hanging."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the pool"
        time.sleep(0.001)


class HeldWork:
    """Password work that runs until the test releases it, counting how many run at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)
        self.running = 0
        self.most_running = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        self.started.release()
        try:
            assert self.release.wait(WAIT)
            return "hashed"
        finally:
            with self._lock:
                self.running -= 1


def in_thread(pool: PasswordWorkPool, work: Callable[[], str], outcomes: list[object]) -> threading.Thread:
    """Submit ``work`` from a request thread of its own; its result or error lands in ``outcomes``."""

    def request() -> None:
        try:
            outcomes.append(pool.run(work))
        except Exception as error:
            outcomes.append(error)

    thread = threading.Thread(target=request)
    thread.start()
    return thread


@pytest.fixture
def small_pool() -> Iterator[PasswordWorkPool]:
    pool = PasswordWorkPool(workers=1, queue_size=1, reserved=0)
    yield pool
    pool.shutdown(wait=False)


def test_results_and_arguments_pass_through() -> None:
    pool = PasswordWorkPool(workers=2)
    try:
        assert pool.run(pow, 2, 10) == 1024
        assert pool.run(lambda: "no arguments") == "no arguments"
    finally:
        pool.shutdown()


def test_the_work_s_own_exception_reaches_the_caller_unchanged(small_pool: PasswordWorkPool) -> None:
    wrong = InvalidPassword()

    def verify() -> None:
        raise wrong

    with pytest.raises(InvalidPassword) as raised:
        small_pool.run(verify)
    assert raised.value is wrong
    assert small_pool.in_flight == 0


def test_with_the_worker_busy_and_the_queue_full_a_third_call_is_refused_at_once(
    small_pool: PasswordWorkPool,
) -> None:
    work, outcomes = HeldWork(), list[object]()
    running = in_thread(small_pool, work, outcomes)
    assert work.started.acquire(timeout=WAIT)
    queued = in_thread(small_pool, work, outcomes)
    wait_until(lambda: small_pool.in_flight == 2)

    began = time.monotonic()
    with pytest.raises(HashingBusy) as refused:
        small_pool.run(work)
    assert time.monotonic() - began < 0.1
    assert (refused.value.status, refused.value.retry_after, refused.value.code) == (503, 1, "hashing_busy")

    work.release.set()
    running.join(WAIT)
    queued.join(WAIT)
    assert outcomes == ["hashed", "hashed"]


def test_capacity_frees_up_once_work_completes(small_pool: PasswordWorkPool) -> None:
    work, outcomes = HeldWork(), list[object]()
    threads = [in_thread(small_pool, work, outcomes)]
    assert work.started.acquire(timeout=WAIT)
    threads.append(in_thread(small_pool, work, outcomes))
    wait_until(lambda: small_pool.in_flight == 2)
    work.release.set()
    for thread in threads:
        thread.join(WAIT)

    assert small_pool.in_flight == 0
    assert [small_pool.run(lambda: "again") for _ in range(3)] == ["again"] * 3


def test_a_flood_of_200_calls_never_has_more_than_workers_plus_queue_in_flight() -> None:
    pool = PasswordWorkPool(workers=2, queue_size=3, reserved=0)
    work, outcomes = HeldWork(), list[object]()
    most_in_flight = 0

    def watched() -> str:
        nonlocal most_in_flight
        most_in_flight = max(most_in_flight, pool.in_flight)
        return work()

    try:
        threads = [in_thread(pool, watched, outcomes) for _ in range(200)]
        wait_until(lambda: len(outcomes) == 200 - 5)  # every refusal is answered while work is held
        assert all(isinstance(outcome, HashingBusy) for outcome in outcomes)
        assert pool.in_flight == 5

        work.release.set()
        for thread in threads:
            thread.join(WAIT)
    finally:
        pool.shutdown()

    assert outcomes.count("hashed") == 5
    assert work.most_running <= 2
    assert most_in_flight <= 5


def test_a_call_still_queued_when_its_time_is_up_is_withdrawn(small_pool: PasswordWorkPool) -> None:
    work, outcomes = HeldWork(), list[object]()
    running = in_thread(small_pool, work, outcomes)
    assert work.started.acquire(timeout=WAIT)

    with pytest.raises(HashingBusy):
        small_pool.run(work, timeout=0.01)
    assert small_pool.in_flight == 1  # only the running one

    work.release.set()
    running.join(WAIT)
    assert outcomes == ["hashed"]


def test_a_call_that_runs_past_its_time_keeps_its_place_until_it_ends(small_pool: PasswordWorkPool) -> None:
    work = HeldWork()
    with pytest.raises(HashingBusy):
        small_pool.run(work, timeout=0.01)
    assert small_pool.in_flight == 1  # a running hash cannot be stopped; it still holds its memory

    work.release.set()
    wait_until(lambda: small_pool.in_flight == 0)


def test_shutdown_waits_for_accepted_work_and_then_refuses_new_calls(small_pool: PasswordWorkPool) -> None:
    work, outcomes = HeldWork(), list[object]()
    running = in_thread(small_pool, work, outcomes)
    assert work.started.acquire(timeout=WAIT)
    stopping = threading.Thread(target=small_pool.shutdown)
    stopping.start()
    stopping.join(0.05)
    assert stopping.is_alive()  # waiting for the hash in progress

    with pytest.raises(HashingBusy, match="stopping"):
        small_pool.run(work)
    work.release.set()
    stopping.join(WAIT)
    running.join(WAIT)
    assert outcomes == ["hashed"]


def test_shutdown_without_waiting_answers_queued_calls_with_503(small_pool: PasswordWorkPool) -> None:
    work, outcomes = HeldWork(), list[object]()
    running = in_thread(small_pool, work, outcomes)
    assert work.started.acquire(timeout=WAIT)
    queued = in_thread(small_pool, work, outcomes)
    wait_until(lambda: small_pool.in_flight == 2)

    small_pool.shutdown(wait=False)
    queued.join(WAIT)
    assert isinstance(outcomes[0], HashingBusy)
    work.release.set()
    running.join(WAIT)
    assert outcomes[1] == "hashed"


def test_the_pool_is_sized_to_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = PasswordWorkPool()
    assert pool.workers == len(os.sched_getaffinity(0))
    assert pool.queue_size == 2 * pool.workers
    assert pool.reserved == pool.workers
    assert repr(pool) == (
        f"PasswordWorkPool(workers={pool.workers}, queue_size={2 * pool.workers}, reserved={pool.workers})"
    )
    pool.shutdown()

    monkeypatch.delattr(os, "sched_getaffinity")  # macOS and Windows have no affinity mask
    for reported, workers in ((3, 3), (None, 1)):
        monkeypatch.setattr(os, "cpu_count", lambda reported=reported: reported)
        pool = PasswordWorkPool()
        assert pool.workers == workers
        pool.shutdown()


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ({"workers": 0}, "at least one worker"),
        ({"queue_size": -1}, "cannot be negative"),
        ({"timeout_seconds": 0}, "must be positive"),
    ],
)
def test_a_pool_without_sense_is_refused(size: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PasswordWorkPool(**{"workers": 1, **size})  # type: ignore[arg-type]


def test_a_place_reserved_ahead_is_used_by_the_work_and_freed_when_it_ends() -> None:
    pool = PasswordWorkPool(workers=1, queue_size=1, reserved=0)
    try:
        place = pool.reserve()
        assert pool.in_flight == 1
        assert pool.run(lambda: "hashed", place=place) == "hashed"
        assert not place.held
        assert pool.in_flight == 0
        place.release()  # releasing a place its work already freed does nothing
        assert pool.in_flight == 0
    finally:
        pool.shutdown()


def test_a_reserved_place_released_unused_is_free_again(small_pool: PasswordWorkPool) -> None:
    first, second = small_pool.reserve(), small_pool.reserve()
    with pytest.raises(HashingBusy):
        small_pool.reserve()
    with pytest.raises(HashingBusy):
        small_pool.run(lambda: "no place left")

    first.release()
    first.release()  # once only
    assert small_pool.in_flight == 1
    assert small_pool.run(lambda: "now", place=first) == "now"  # a place no longer held: a new one is taken
    second.release()
    assert small_pool.in_flight == 0


def test_the_reserved_places_are_taken_only_with_priority() -> None:
    pool = PasswordWorkPool(workers=1, queue_size=2, reserved=1)
    try:
        ordinary = [pool.reserve(), pool.reserve()]
        with pytest.raises(HashingBusy):
            pool.reserve()
        with pytest.raises(HashingBusy):
            pool.run(lambda: "ordinary work uses the unreserved places only")
        promised = pool.reserve(priority=True)
        assert promised.priority
        assert repr(promised) == "PoolPlace(held=True, priority=True)"
        with pytest.raises(HashingBusy):
            pool.reserve(priority=True)
        for place in (*ordinary, promised):
            place.release()
        assert pool.in_flight == 0
    finally:
        pool.shutdown()


def test_a_place_of_another_pool_is_not_used(small_pool: PasswordWorkPool) -> None:
    other = PasswordWorkPool(workers=1, queue_size=0, reserved=0)
    try:
        foreign = other.reserve()
        assert small_pool.run(lambda: "own place", place=foreign) == "own place"
        assert foreign.held
        foreign.release()
    finally:
        other.shutdown()


def test_a_stopping_pool_reserves_no_place(small_pool: PasswordWorkPool) -> None:
    small_pool.shutdown()
    with pytest.raises(HashingBusy, match="stopping"):
        small_pool.reserve()


def test_the_reserve_must_leave_a_place_for_everyone() -> None:
    with pytest.raises(ValueError, match="at least one place"):
        PasswordWorkPool(workers=1, queue_size=1, reserved=2)


@pytest.mark.skipif(not hasattr(os, "getpriority") or os.name != "posix", reason="niceness is POSIX")
def test_password_threads_run_at_a_lower_priority_than_the_rest_of_the_process() -> None:
    import sys

    from privacy_service.identity.hashing_pool import PASSWORD_THREAD_NICENESS

    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux sets niceness per thread")
    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    pool = PasswordWorkPool(workers=1, queue_size=0)
    try:
        there = pool.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    finally:
        pool.shutdown()
    assert there == min(19, here + PASSWORD_THREAD_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == here  # the caller keeps its own
