"""The bounded pool that runs password hashing and verification.

argon2id is memory-hard on purpose (m ≥ 19 MiB per hash): a flood of logins
that each started a hash at once would exhaust memory long before the CPUs.
So hashes run in a thread pool sized to the cores the process may use, behind
a short queue; when both are full, a new request is refused at once with
``HashingBusy`` (503 + Retry-After) instead of waiting without bound (DESIGN.md
"Concurrency"). Threads give real parallelism here: argon2-cffi releases the
GIL while it hashes. Memory is bounded by ``workers`` hashes at a time, plus
``queue_size`` waiting requests that hold no argon2 memory yet.

A place can also be taken ahead of the work (``reserve``): the HTTP edge
takes one for a login before the request body is parsed or any thread or
database work starts, so a flood is refused from the event loop; the login
then hashes in the place it holds. ``reserved`` of the places are kept for
logins that ``identity.admission`` admits ahead of the rest (a refused login
that came back after its Retry-After), so a flood cannot hold every place.

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

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar, TypeVarTuple

from privacy_service.core.errors import Unavailable

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: How much nicer (lower priority, ``nice(2)``) than the process the password threads run: 10 of 19.
PASSWORD_THREAD_NICENESS = 10


class HashingBusy(Unavailable):
    """Every password worker is busy and the queue is full (or the pool is stopping): retry shortly."""

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

    The first ``run`` given the place hashes in it and frees it when its work
    ends; releasing it again (or releasing a place already freed) does nothing,
    so the holder can always release it when its request ends.
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

    At most ``workers + queue_size`` calls are in flight (running, queued, or
    places reserved ahead of their work); one more is refused immediately with
    ``HashingBusy``. Of those places, ``reserved`` are taken only by
    ``reserve(priority=True)``. ``run`` blocks the calling request thread until
    its result, and re-raises the callable's own exception (``InvalidPassword``,
    say) unchanged.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        queue_size: int | None = None,
        reserved: int | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        workers = _usable_cores() if workers is None else workers
        queue_size = 2 * workers if queue_size is None else queue_size
        if workers < 1:
            raise ValueError("a password pool needs at least one worker")
        if queue_size < 0:
            raise ValueError("the queue size of a password pool cannot be negative")
        if timeout_seconds <= 0:
            raise ValueError("the timeout of a password pool must be positive")
        # By default the queue's places beyond one per worker: every worker stays busy with the others.
        reserved = min(workers, queue_size) if reserved is None else reserved
        if not 0 <= reserved < workers + queue_size:
            raise ValueError("the reserved places must leave at least one place for everyone")
        self.workers = workers
        self.queue_size = queue_size
        self.reserved = reserved
        self.timeout_seconds = timeout_seconds
        self._capacity = workers + queue_size
        self._in_flight = 0
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

    def reserve(self, *, priority: bool = False) -> PoolPlace:
        """Take a place now, for work to ``run`` later; raises ``HashingBusy`` when none is free.

        Without ``priority`` only the unreserved places can be taken. Never
        blocks (the lock guards a counter), so the event loop may call it.
        """
        with self._lock:
            self._take(priority=priority)
            return PoolPlace(self, priority=priority)

    def run(
        self,
        fn: Callable[[*Ts], T],
        /,
        *args: *Ts,
        timeout: float | None = None,
        place: PoolPlace | None = None,
    ) -> T:
        """Run ``fn(*args)`` in the pool and return its result, or raise what it raised.

        In ``place`` when one is given and still held (it is freed when the work
        ends); otherwise in a place taken now. Raises ``HashingBusy`` at once
        when no place is free or the pool is shutting down, and after
        ``timeout`` seconds (default: the pool's) without a result; a call
        still queued then is withdrawn.
        """
        with self._lock:
            if self._closed:
                raise HashingBusy("The service is stopping")
            if place is not None and place._pool is self and place._held:
                place._held = False  # the work now owns the place; _work frees it
            else:
                self._take(priority=False)

            def call() -> T:
                return fn(*args)

            future: Future[T] = self._executor.submit(self._work, call)
        try:
            return future.result(timeout=self.timeout_seconds if timeout is None else timeout)
        except FutureTimeout:
            if future.cancel():  # still queued: it will never run, so its place is freed here
                self._finished()
            raise HashingBusy("Password checks are taking too long") from None
        except CancelledError:  # the pool was shut down without waiting for queued calls
            raise HashingBusy("The service is stopping") from None

    def _take(self, *, priority: bool) -> None:
        """Count one more place in flight, or raise ``HashingBusy``; the caller holds the lock."""
        if self._closed:
            raise HashingBusy("The service is stopping")
        if self._in_flight >= self._capacity - (0 if priority else self.reserved):
            raise HashingBusy()
        self._in_flight += 1

    def _give_back(self, place: PoolPlace) -> None:
        with self._lock:
            if place._held:
                place._held = False
                self._in_flight -= 1

    def shutdown(self, *, wait: bool = True) -> None:
        """Refuse new calls; with ``wait``, return once every accepted call has finished."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=not wait)

    def _work(self, call: Callable[[], T]) -> T:
        try:
            return call()
        finally:
            # Freed before the result is published, so a caller that got its
            # result can submit again at once and find the place free.
            self._finished()

    def _finished(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def __repr__(self) -> str:
        sizes = f"workers={self.workers}, queue_size={self.queue_size}, reserved={self.reserved}"
        return f"PasswordWorkPool({sizes})"
