"""The bounded password pool: under a flood it answers 503 at once instead of queueing without bound."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from privacy_service.crypto import InvalidPassword
from privacy_service.identity.hashing_pool import (
    LONGEST_RETRY_AFTER,
    MEAN_WEIGHT,
    QUEUE_PER_WORKER,
    HashingBusy,
    PasswordWorkPool,
    PoolPlace,
)
from tests.support.clocks import FakeMonotonic

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
    assert pool.queue_size == QUEUE_PER_WORKER * pool.workers
    assert pool.reserved == pool.workers
    assert repr(pool) == (
        f"PasswordWorkPool(workers={pool.workers}, queue_size={QUEUE_PER_WORKER * pool.workers}, "
        f"reserved={pool.workers}, wait_seconds=2.0)"
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


@pytest.mark.skipif(not hasattr(os, "getpriority") or os.name != "posix", reason="niceness is POSIX")
def test_where_niceness_is_not_per_thread_the_password_threads_keep_the_process_priority(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On macOS or the BSDs ``setpriority`` on a thread id would renice the whole process (or another one)."""
    import sys

    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    monkeypatch.setattr(sys, "platform", "darwin")
    pool = PasswordWorkPool(workers=1, queue_size=0)
    try:
        there = pool.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    finally:
        pool.shutdown()
    assert there == here


@pytest.mark.skipif(not hasattr(os, "getpriority") or os.name != "posix", reason="niceness is POSIX")
def test_a_password_thread_the_os_will_not_renice_still_does_its_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sandbox (seccomp, a container's policy) may refuse ``setpriority``: hashing must go on regardless."""
    refused: list[int] = []

    def refuse(which: int, who: int, priority: int) -> None:
        refused.append(who)
        raise PermissionError("setpriority is not allowed here")

    monkeypatch.setattr(os, "setpriority", refuse)
    monkeypatch.setattr("sys.platform", "linux")
    pool = PasswordWorkPool(workers=1, queue_size=0)
    try:
        assert pool.run(lambda a, b: a + b, 2, 3) == 5
        worker = pool.run(threading.get_native_id)
    finally:
        pool.shutdown()
    assert refused == [worker]  # it was tried, in the password thread, and its refusal was survived


# --- Admission by expected wait -----------------------------------------------------------------


def timed_pool(clock: FakeMonotonic, **settings: float) -> PasswordWorkPool:
    """A pool whose jobs are timed on ``clock``: a job "takes" what it advances the clock by.

    As many cores as workers unless the test says otherwise, whatever machine runs the test.
    """
    values: dict[str, float] = {"workers": 2, "queue_size": 1000, "reserved": 0, "wait_seconds": 1.0}
    values.update(settings)
    values.setdefault("cores", values["workers"])
    return PasswordWorkPool(job_clock=clock, **values)  # type: ignore[arg-type]


def take_every_place(
    pool: PasswordWorkPool, *, priority: bool = False
) -> tuple[list[PoolPlace], HashingBusy]:
    """Reserve places until the pool refuses; return them and the refusal."""
    places: list[PoolPlace] = []
    while True:
        try:
            places.append(pool.reserve(priority=priority))
        except HashingBusy as refusal:
            return places, refusal
        assert len(places) <= 10_000, "the pool never refused"


def test_before_any_job_the_estimate_is_the_first_guess_and_calibrating_replaces_it() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, first_estimate_seconds=0.125)
    try:
        assert pool.mean_seconds == 0.125

        took = pool.calibrate(lambda: clock.advance(0.03))

        assert took == pytest.approx(0.03)
        assert pool.mean_seconds == pytest.approx(0.03)
    finally:
        pool.shutdown()


def test_each_job_moves_the_mean_a_fifth_of_the_way_to_its_own_duration_failed_ones_too() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, first_estimate_seconds=0.1)

    def wrong_password() -> None:
        clock.advance(0.3)
        raise InvalidPassword()

    try:
        pool.run(lambda: clock.advance(0.2))
        assert pool.mean_seconds == pytest.approx(0.1 + MEAN_WEIGHT * (0.2 - 0.1))
        with pytest.raises(InvalidPassword):
            pool.run(wrong_password)
        assert pool.mean_seconds == pytest.approx(0.12 + MEAN_WEIGHT * (0.3 - 0.12))
    finally:
        pool.shutdown()


def test_calls_are_admitted_while_their_expected_wait_is_within_the_budget() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, first_estimate_seconds=0.125, wait_seconds=1.0)  # 2 workers: 16 hashes a second
    try:
        places, refusal = take_every_place(pool)

        # 2 run at once; the 16 behind them wait 1/16 s to 16/16 s: within the budget of 1 s.
        assert len(places) == 2 + 16
        assert pool.expected_wait_seconds == pytest.approx(17 * 0.125 / 2)  # the next would wait 1.06 s
        assert (refusal.status, refusal.code, refusal.retry_after) == (503, "hashing_busy", 2)
        assert pool.retry_after() == 2
        for place in places:
            place.release()
        assert pool.in_flight == 0
    finally:
        pool.shutdown()


def test_when_hashes_slow_down_fewer_calls_are_admitted_and_retry_after_grows() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, first_estimate_seconds=0.125, wait_seconds=1.0)
    try:
        for _ in range(40):  # the machine got busy: every hash now takes half a second
            pool.run(lambda: clock.advance(0.5))
        assert pool.mean_seconds == pytest.approx(0.5, rel=0.01)

        places, refusal = take_every_place(pool)

        assert len(places) == 2 + 4  # 2 running, and 4 waiting 0.25 s to 1 s
        assert refusal.retry_after == 2  # the next would wait 5 x 0.5 s / 2 workers = 1.25 s
        for place in places:
            place.release()
    finally:
        pool.shutdown()


def test_a_call_that_would_run_at_once_is_admitted_however_slow_the_estimate() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, wait_seconds=1.0)
    try:
        pool.calibrate(lambda: clock.advance(1000))  # a hash "takes" 1000 s

        places, refusal = take_every_place(pool)

        assert len(places) == pool.workers  # one per worker: they wait for nothing
        assert refusal.retry_after == LONGEST_RETRY_AFTER  # 500 s expected; never asked for more than this
        for place in places:
            place.release()
    finally:
        pool.shutdown()


def test_the_hard_cap_bounds_waiting_calls_whatever_the_estimate_says() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, workers=1, queue_size=3, first_estimate_seconds=0.000_001)  # a million a second
    try:
        places, refusal = take_every_place(pool)

        assert len(places) == 1 + 3
        assert refusal.retry_after == 1
        for place in places:
            place.release()
    finally:
        pool.shutdown()


def test_the_reserve_lies_beyond_the_budget_and_within_the_hard_cap() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, workers=1, reserved=2, first_estimate_seconds=0.25, wait_seconds=1.0)
    try:
        ordinary, _ = take_every_place(pool)
        promised, _ = take_every_place(pool, priority=True)

        assert (len(ordinary), len(promised)) == (1 + 4, 2)
    finally:
        pool.shutdown()
    capped = timed_pool(clock, workers=1, queue_size=3, reserved=1, first_estimate_seconds=0.000_001)
    try:
        ordinary, _ = take_every_place(capped)
        promised, _ = take_every_place(capped, priority=True)

        assert (len(ordinary), len(promised)) == (3, 1)  # 4 places in all, one of them in reserve
    finally:
        capped.shutdown()


def test_workers_beyond_the_cores_do_not_shorten_the_expected_wait() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, workers=4, cores=2, first_estimate_seconds=0.125, wait_seconds=1.0)
    try:
        places, refusal = take_every_place(pool)

        # 4 start at once, but 2 cores end 16 hashes a second: 16 more wait up to 1 s.
        assert len(places) == 4 + 16
        assert refusal.retry_after == 2
    finally:
        pool.shutdown()


def test_a_job_is_timed_by_the_cpu_time_of_its_own_thread() -> None:
    pool = PasswordWorkPool(workers=1, first_estimate_seconds=1000.0)  # the real clock: time.thread_time
    try:
        pool.run(time.sleep, 0.05)  # waiting costs no CPU

        assert pool.mean_seconds < 1000.0 * (1 - MEAN_WEIGHT) + 0.01
    finally:
        pool.shutdown()


def test_a_queued_call_withdrawn_frees_its_place_and_is_not_timed() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, workers=1, first_estimate_seconds=0.125)
    work = HeldWork()
    try:
        running = pool.submit(work)
        assert work.started.acquire(timeout=WAIT)
        queued = pool.submit(lambda: "never runs")
        assert (pool.in_flight, pool.queued) == (2, 1)

        assert queued.cancel()

        assert (pool.in_flight, pool.queued) == (1, 0)
        work.release.set()
        assert running.result(timeout=WAIT) == "hashed"
        wait_until(lambda: pool.in_flight == 0)
        assert pool.mean_seconds == pytest.approx(0.125 * (1 - MEAN_WEIGHT), abs=1e-5)  # the held one: 0 s
    finally:
        pool.shutdown()


def test_the_reserve_stays_open_when_the_estimate_rises_under_the_places_already_taken() -> None:
    clock = FakeMonotonic()
    pool = timed_pool(clock, workers=1, reserved=1, first_estimate_seconds=0.125, wait_seconds=1.0)
    try:
        ordinary, _ = take_every_place(pool)
        assert len(ordinary) == 1 + 8
        pool.calibrate(lambda: clock.advance(1.0))  # hashes now take 1 s: the budget admits 1 waiting

        with pytest.raises(HashingBusy):
            pool.reserve()
        promised = pool.reserve(priority=True)  # the reserve does not depend on what the budget holds
        with pytest.raises(HashingBusy):
            pool.reserve(priority=True)

        promised.release()
        assert pool.reserve(priority=True).priority
    finally:
        pool.shutdown()


def test_work_in_a_reserved_place_goes_ahead_of_the_queue() -> None:
    """A login that came back after its Retry-After holds its reserved place for one hash, not for
    the whole queue's wait, so the reserve is free again soon for the next one."""
    pool = PasswordWorkPool(workers=1, queue_size=10, reserved=1)
    work, order = HeldWork(), list[str]()
    try:
        running = pool.submit(work)
        assert work.started.acquire(timeout=WAIT)
        queued = [pool.submit(order.append, name) for name in ("first", "second")]
        promised = pool.submit(order.append, "came back", place=pool.reserve(priority=True))
        assert pool.queued == 3

        work.release.set()
        running.result(timeout=WAIT)
        for future in (*queued, promised):
            future.result(timeout=WAIT)

        assert order == ["came back", "first", "second"]
        assert pool.in_flight == 0
    finally:
        pool.shutdown()


def test_a_pool_without_a_positive_budget_or_estimate_is_refused() -> None:
    for settings in ({"wait_seconds": 0}, {"first_estimate_seconds": 0}, {"wait_seconds": -1}):
        with pytest.raises(ValueError, match="must be positive"):
            PasswordWorkPool(workers=1, **settings)  # type: ignore[arg-type]


def test_a_call_is_given_up_after_five_budgets_and_never_before_ten_seconds() -> None:
    for budget, timeout in ((1.0, 10.0), (2.0, 10.0), (4.0, 20.0)):
        pool = PasswordWorkPool(workers=1, wait_seconds=budget)
        assert pool.timeout_seconds == timeout
        pool.shutdown()


# --- Awaiting the pool from an event loop ----------------------------------------------------------


def test_run_async_returns_the_result_or_the_work_s_own_exception() -> None:
    pool = PasswordWorkPool(workers=1)
    wrong = InvalidPassword()

    def verify() -> None:
        raise wrong

    async def both() -> tuple[int, BaseException | None]:
        result = await pool.run_async(pow, 2, 10)
        try:
            await pool.run_async(verify)
        except InvalidPassword as error:
            return result, error
        return result, None

    try:
        assert asyncio.run(both()) == (1024, wrong)
        assert pool.in_flight == 0
    finally:
        pool.shutdown()


def test_run_async_waits_in_the_queue_without_a_thread_and_withdraws_the_call_when_cancelled() -> None:
    pool = PasswordWorkPool(workers=1, queue_size=10, reserved=0)
    work = HeldWork()

    async def cancelled_while_queued() -> tuple[int, int]:
        waiting = asyncio.ensure_future(pool.run_async(lambda: "never runs"))
        while pool.queued == 0:
            await asyncio.sleep(0.001)
        seen = (pool.in_flight, threading.active_count())
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return seen

    try:
        running = pool.submit(work)
        assert work.started.acquire(timeout=WAIT)
        threads_before = threading.active_count()

        in_flight, threads_while_waiting = asyncio.run(cancelled_while_queued())

        assert in_flight == 2
        assert threads_while_waiting == threads_before  # the await took no thread of its own
        assert (pool.in_flight, pool.queued) == (1, 0)  # withdrawn: its place is free again
        work.release.set()
        assert running.result(timeout=WAIT) == "hashed"
    finally:
        pool.shutdown()


def test_run_async_gives_up_with_503_when_its_time_is_up() -> None:
    pool = PasswordWorkPool(workers=1, queue_size=1, reserved=0)
    work = HeldWork()
    try:
        running = pool.submit(work)
        assert work.started.acquire(timeout=WAIT)

        with pytest.raises(HashingBusy, match="too long"):
            asyncio.run(pool.run_async(lambda: "never runs", timeout=0.01))

        assert pool.in_flight == 1  # the queued call was withdrawn
        work.release.set()
        running.result(timeout=WAIT)
    finally:
        pool.shutdown()


def test_run_async_answers_503_when_the_pool_stops_without_waiting_for_it() -> None:
    pool = PasswordWorkPool(workers=1, queue_size=1, reserved=0)
    work = HeldWork()

    async def queued_then_stopped() -> None:
        waiting = asyncio.ensure_future(pool.run_async(lambda: "never runs"))
        while pool.queued == 0:
            await asyncio.sleep(0.001)
        pool.shutdown(wait=False)
        await waiting

    running = pool.submit(work)
    assert work.started.acquire(timeout=WAIT)
    with pytest.raises(HashingBusy, match="stopping"):
        asyncio.run(queued_then_stopped())
    work.release.set()
    assert running.result(timeout=WAIT) == "hashed"
