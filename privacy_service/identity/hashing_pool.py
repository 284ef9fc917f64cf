"""The bounded pool that runs password hashing and verification.

argon2id is memory-hard on purpose (m ≥ 19 MiB per hash): a flood of logins
that each started a hash at once would exhaust memory long before the CPUs.
So hashes run in a thread pool sized to the cores the process may use; a call
that cannot run at once waits in the pool's queue, where it holds a few
kilobytes and none of argon2's memory (DESIGN.md "Concurrency").

A call is admitted by its expected wait, not by a small count: the pool keeps
an exponentially weighted mean of how long its jobs take (seeded by
``calibrate``, one hash timed at start-up, or a guess), and a call that
would find ``n`` jobs ahead of it for a thread is expected to wait
``n x mean / cores`` (the cores: the workers, at most the usable CPUs). While
that is within ``wait_seconds`` (the budget, ``PRIVACY_PASSWORD_POOL_WAIT_SECONDS``)
the call queues, so an ordinary burst of a few dozen logins completes; beyond
it, or beyond ``queue_size`` waiting calls whatever the estimate says (the
hard cap that bounds memory), it is refused at once with ``HashingBusy``
(503) and a Retry-After of the wait it would have had.

A job's duration is the CPU time its thread spent (``time.thread_time``), not
the time on the wall: what a hash costs on this machine, which other work
hardly moves. A wall-clock mean rises with whatever else runs, including the
refusals themselves: on a shared 2-core machine a burst of 32 clients that
retry a 503 at once saw its hashes slow down under the retries' load, the
estimate rise, more refusals, and 20,000 503s for 200 logins. The CPU time
keeps the estimate, and so the queue, steady; a login still waiting after
``timeout_seconds`` (five budgets) on a machine that busy is answered 503.

Threads give real parallelism here: argon2-cffi releases the GIL while it
hashes. Memory is bounded by ``workers`` hashes at a time, plus at most
``queue_size`` waiting calls.

A place can also be taken ahead of the work (``reserve``): the HTTP edge
takes one for a login before the request body is parsed or any thread or
database work starts, so a flood is refused from the event loop; the login
then hashes in the place it holds. ``reserved`` places are kept, whatever
the budget's hold, for logins that ``identity.admission`` admits ahead of the
rest (a refused login that came back after its Retry-After), so a flood
cannot hold every place; their work goes ahead of the queue, so a reserved place is held
for one hash and not for the whole queue's wait.

A caller in an event loop awaits its result (``run_async``) instead of
blocking a thread in ``run``: dozens of queued logins would otherwise hold
every thread of the server's thread pool and stall every other route.

The password threads run at a lower CPU priority than the rest of the
process (``PASSWORD_THREAD_NICENESS``, where the OS allows it per thread). A
flood keeps every one of them busy with argon2 on every core, and the event
loop that refuses the surplus in microseconds would otherwise get a fraction
of a core and answer late; at a lower priority argon2 still takes every cycle
nobody else wants, so logins lose nothing when the service is not flooded.

This bounds the service's own work; it is not the login throttle
(``identity.throttle``), which bounds guesses per account, IP and client.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any, TypeVar, TypeVarTuple

from privacy_service.core.errors import Unavailable

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: How much nicer (lower priority, ``nice(2)``) than the process the password threads run: 10 of 19.
PASSWORD_THREAD_NICENESS = 10
#: The default budget: a login is refused rather than wait longer than this for a thread.
WAIT_SECONDS = 2.0
#: The default hard cap on waiting calls, per worker. A queued login holds a few kilobytes (its
#: request, its task and its job), so 256 per worker is about a megabyte per core; and a 2 s budget
#: reaches it only when a hash takes under 2 s / 256 = 8 ms, which argon2id at OWASP's minimum
#: (19 MiB, 2 passes) does not on today's server cores (25-40 ms). So the budget decides, and the
#: cap only bounds memory should the estimate be wrong (or the budget set far higher).
QUEUE_PER_WORKER = 256
#: The mean hash time assumed until ``calibrate`` or a first job measures it: OWASP's minimum
#: argon2id on one core of a modest server.
FIRST_ESTIMATE_SECONDS = 0.05
#: The weight of each job's duration in the mean: about the last ten jobs count, so the estimate
#: follows the machine's load within a fraction of a second of hashing and one slow job moves it little.
MEAN_WEIGHT = 0.2
#: A call with no result after this many budgets (and at least ``MIN_TIMEOUT_SECONDS``) is given up:
#: it was admitted expecting one budget's wait at most, so the estimate was wrong fivefold or the
#: pool is stuck.
TIMEOUT_BUDGETS = 5
MIN_TIMEOUT_SECONDS = 10.0
#: The longest Retry-After a refusal asks for, whatever the queue's expected wait.
LONGEST_RETRY_AFTER = 60


class HashingBusy(Unavailable):
    """The password queue's expected wait is over its budget (or the pool is stopping): retry shortly."""

    code = "hashing_busy"
    title = "Too many password checks in progress"


def _lower_this_threads_priority() -> None:
    """Make the calling thread nicer by ``PASSWORD_THREAD_NICENESS``; only Linux sets it per thread.

    Raising one's own niceness needs no privilege; where it cannot be done the
    thread simply keeps the process's priority.
    """
    if not sys.platform.startswith("linux"):
        return
    thread_id = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + PASSWORD_THREAD_NICENESS))
    except OSError:
        pass


def _usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class PoolPlace:
    """One place in a ``PasswordWorkPool``, taken ahead of the work; ``release`` it when it is not used.

    The first ``run`` (or ``submit``) given the place hashes in it and frees it
    when its work ends; releasing it again (or releasing a place already freed)
    does nothing, so the holder can always release it when its request ends.
    """

    __slots__ = ("_held", "_pool", "priority")

    def __init__(self, pool: PasswordWorkPool, *, priority: bool) -> None:
        self._pool = pool
        self._held = True
        self.priority = priority

    @property
    def held(self) -> bool:
        """True until the place is used by ``run`` or released."""
        return self._held

    def release(self) -> None:
        self._pool._give_back(self)

    def __repr__(self) -> str:
        return f"PoolPlace(held={self._held}, priority={self.priority})"


class PasswordWorkPool:
    """Runs password hashing and verification callables on at most ``workers`` threads at once.

    A call is admitted while its expected wait is within ``wait_seconds`` and
    fewer than ``queue_size`` calls wait (places reserved ahead of their work
    count as waiting); ``reserved`` places are kept for ``reserve(priority=True)``
    whatever the others hold (within ``workers + queue_size``). Any other call is refused immediately with
    ``HashingBusy``. ``run`` blocks the calling thread until its result and
    ``run_async`` awaits it; both re-raise the callable's own exception
    (``InvalidPassword``, say) unchanged. ``job_clock`` times the jobs in their
    own thread (a test passes a fake one); ``cores`` defaults to the usable CPUs.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        queue_size: int | None = None,
        reserved: int | None = None,
        wait_seconds: float = WAIT_SECONDS,
        first_estimate_seconds: float = FIRST_ESTIMATE_SECONDS,
        timeout_seconds: float | None = None,
        job_clock: Callable[[], float] = time.thread_time,
        cores: int | None = None,
    ) -> None:
        workers = _usable_cores() if workers is None else workers
        queue_size = QUEUE_PER_WORKER * workers if queue_size is None else queue_size
        if workers < 1:
            raise ValueError("a password pool needs at least one worker")
        if queue_size < 0:
            raise ValueError("the queue size of a password pool cannot be negative")
        if wait_seconds <= 0 or first_estimate_seconds <= 0:
            raise ValueError("the wait budget and the first estimate of a password pool must be positive")
        if timeout_seconds is None:
            timeout_seconds = max(MIN_TIMEOUT_SECONDS, TIMEOUT_BUDGETS * wait_seconds)
        if timeout_seconds <= 0:
            raise ValueError("the timeout of a password pool must be positive")
        # By default as many reserved places as workers (at most the queue): a login that waited as
        # told finds one even when the flood has filled the budget.
        reserved = min(workers, queue_size) if reserved is None else reserved
        if not 0 <= reserved < workers + queue_size:
            raise ValueError("the reserved places must leave at least one place for everyone")
        self.workers = workers
        self.queue_size = queue_size
        self.reserved = reserved
        self.wait_seconds = wait_seconds
        self.timeout_seconds = timeout_seconds
        self._capacity = workers + queue_size
        self._mean = first_estimate_seconds
        self._job_clock = job_clock
        # The jobs that progress at once: one per worker, as far as there are cores to run them.
        self._parallel = min(workers, _usable_cores() if cores is None else max(1, cores))
        self._in_flight = 0
        self._promised = 0  # of those, the places taken with priority
        self._queued = 0
        # Jobs not started yet, each a future and its call: those of priority places first.
        self._ahead: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._waiting: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._closed = False
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="password-work", initializer=_lower_this_threads_priority
        )

    @property
    def in_flight(self) -> int:
        """Calls accepted and not yet finished: running plus queued (for metrics and health)."""
        with self._lock:
            return self._in_flight

    @property
    def queued(self) -> int:
        """Calls submitted whose work has not started yet: the queue's depth (for metrics and tests)."""
        with self._lock:
            return self._queued

    @property
    def mean_seconds(self) -> float:
        """How long a job takes, as the pool estimates it now."""
        with self._lock:
            return self._mean

    @property
    def expected_wait_seconds(self) -> float:
        """How long a call arriving now would wait for a thread, by the estimate (for metrics)."""
        with self._lock:
            return self._expected_wait()

    def calibrate(self, work: Callable[[], object]) -> float:
        """Time ``work`` (one hash) in the calling thread and take it as the mean; return its CPU time.

        Called once at start-up, so the first burst is admitted by this
        machine's figure rather than by a guess.
        """
        started = self._job_clock()
        work()
        duration = self._job_clock() - started
        with self._lock:
            self._mean = max(duration, 1e-6)
        return duration

    def reserve(self, *, priority: bool = False) -> PoolPlace:
        """Take a place now, for work to ``run`` later; raises ``HashingBusy`` when none is free.

        Without ``priority`` only the places within the budget can be taken.
        Never blocks (the lock guards a few numbers), so the event loop may
        call it.
        """
        with self._lock:
            self._take(priority=priority)
            return PoolPlace(self, priority=priority)

    def submit(self, fn: Callable[[*Ts], T], /, *args: *Ts, place: PoolPlace | None = None) -> Future[T]:
        """Queue ``fn(*args)`` and return its future at once; ``HashingBusy`` when it is not admitted.

        In ``place`` when one is given and still held (it is freed when the
        work ends); otherwise in a place taken now. Work in a priority place
        (a login that came back after its Retry-After) goes ahead of the queue:
        its reserved place is held for one hash, not for the queue's whole wait.
        Cancelling the future while the work is still queued withdraws it and
        frees its place.
        """
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise HashingBusy("The service is stopping")
            if place is not None and place._pool is self and place._held:
                place._held = False  # the work now owns the place; _run_next frees it
                ahead = place.priority
            else:
                self._take(priority=False)
                ahead = False
            (self._ahead if ahead else self._waiting).append((future, partial(fn, *args)))
            self._queued += 1
            self._executor.submit(self._run_next)  # one thread's turn per job: it runs the first job waiting
        future.add_done_callback(partial(self._withdrawn, priority=ahead))
        return future

    def run(
        self,
        fn: Callable[[*Ts], T],
        /,
        *args: *Ts,
        timeout: float | None = None,
        place: PoolPlace | None = None,
    ) -> T:
        """Run ``fn(*args)`` in the pool and return its result, or raise what it raised.

        Blocks the calling thread; ``submit`` says which place the work takes.
        Raises ``HashingBusy`` at once when it is not admitted or the pool is
        shutting down, and after ``timeout`` seconds (default: the pool's)
        without a result; a call still queued then is withdrawn.
        """
        future = self.submit(fn, *args, place=place)
        try:
            return future.result(timeout=self.timeout_seconds if timeout is None else timeout)
        except FutureTimeout:
            future.cancel()  # still queued: it will never run, and its place is freed
            raise HashingBusy("Password checks are taking too long") from None
        except CancelledError:  # the pool was shut down without waiting for queued calls
            raise HashingBusy("The service is stopping") from None

    async def run_async(
        self,
        fn: Callable[[*Ts], T],
        /,
        *args: *Ts,
        timeout: float | None = None,
        place: PoolPlace | None = None,
    ) -> T:
        """``run`` for a caller in an event loop: awaits the result without holding a thread.

        A task cancelled while its call is still queued withdraws the call.
        """
        future = self.submit(fn, *args, place=place)
        waiting = asyncio.wrap_future(future)  # cancelling it cancels the call if still queued
        try:
            return await asyncio.wait_for(waiting, self.timeout_seconds if timeout is None else timeout)
        except TimeoutError:
            raise HashingBusy("Password checks are taking too long") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if future.cancelled() and task is not None and not task.cancelling():
                raise HashingBusy("The service is stopping") from None  # shut down without waiting
            raise

    def _take(self, *, priority: bool) -> None:
        """Count one more place in flight, or raise ``HashingBusy``; the caller holds the lock.

        A call with priority takes one of the ``reserved`` places whatever the
        others hold (within the hard cap), or an ordinary place when one is free.
        """
        if self._closed:
            raise HashingBusy("The service is stopping")
        ordinary = self._in_flight < self._ordinary_limit()
        if priority:
            admitted = self._in_flight < self._capacity and (ordinary or self._promised < self.reserved)
        else:
            admitted = ordinary
        if not admitted:
            raise HashingBusy(retry_after=self._retry_after())
        self._in_flight += 1
        self._promised += priority

    def _ordinary_limit(self) -> int:
        """Places in flight beyond which a call without priority is refused; the caller holds the lock.

        A call finding ``n`` places taken waits for ``n - workers + 1`` jobs to
        end, ``cores`` at a time: ``(n - workers + 1) x mean / cores``. It is
        within the budget while ``n < workers + budget x cores / mean``; and the
        hard cap less the reserve bounds it whatever the estimate.
        """
        within_budget = self.workers + math.floor(self.wait_seconds * self._parallel / self._mean)
        return min(within_budget, self._capacity - self.reserved)

    def retry_after(self) -> int:
        """The Retry-After of a refusal now: the queue's expected wait in whole seconds, 1 to 60.

        Coming back sooner would only meet the same full queue.
        """
        with self._lock:
            return self._retry_after()

    def _retry_after(self) -> int:
        return min(LONGEST_RETRY_AFTER, max(1, math.ceil(self._expected_wait())))

    def _expected_wait(self) -> float:
        """The estimated wait of a call arriving now; the caller holds the lock."""
        ahead = max(0, self._in_flight - self.workers + 1)
        return ahead * self._mean / self._parallel

    def _give_back(self, place: PoolPlace) -> None:
        with self._lock:
            if place._held:
                place._held = False
                self._in_flight -= 1
                self._promised -= place.priority

    def shutdown(self, *, wait: bool = True) -> None:
        """Refuse new calls; with ``wait``, return once every accepted call has finished."""
        with self._lock:
            self._closed = True
            queued = [*self._ahead, *self._waiting] if not wait else []
        for future, _ in queued:
            future.cancel()  # its caller gets HashingBusy; _withdrawn frees its place
        self._executor.shutdown(wait=wait, cancel_futures=not wait)

    def _run_next(self) -> None:
        """A worker thread's turn: run the first job still waiting, priority ones first."""
        while True:
            with self._lock:
                priority = bool(self._ahead)
                if priority:
                    future, call = self._ahead.popleft()
                elif self._waiting:
                    future, call = self._waiting.popleft()
                else:
                    return  # its job was withdrawn, and another turn ran the rest
                if future.set_running_or_notify_cancel():
                    self._queued -= 1
                    break
            # withdrawn while queued: _withdrawn already freed its place; take the next one
        started = self._job_clock()  # in this worker thread: its CPU time
        try:
            result = call()
        except BaseException as error:
            self._finished(took=self._job_clock() - started, priority=priority)
            future.set_exception(error)
        else:
            # Freed before the result is published, so a caller that got its
            # result can submit again at once and find the place free.
            self._finished(took=self._job_clock() - started, priority=priority)
            future.set_result(result)

    def _withdrawn(self, future: Future[Any], *, priority: bool) -> None:
        """A future cancelled before its work ran: the work never frees its place, so it is freed here."""
        if future.cancelled():
            with self._lock:
                self._queued -= 1
            self._finished(took=None, priority=priority)

    def _finished(self, *, took: float | None, priority: bool) -> None:
        with self._lock:
            self._in_flight -= 1
            self._promised -= priority
            if took is not None:
                self._mean += MEAN_WEIGHT * (max(took, 1e-6) - self._mean)

    def __repr__(self) -> str:
        sizes = f"workers={self.workers}, queue_size={self.queue_size}, reserved={self.reserved}"
        return f"PasswordWorkPool({sizes}, wait_seconds={self.wait_seconds})"
