"""The timing of the DSR outbox, shared by tasks and notices: how long a lease holds, when to try again."""

from __future__ import annotations

import random
from datetime import timedelta

# A lease outlives the delivery's own timeout by this much, so a slow answer is not delivered twice.
LEASE_MARGIN = timedelta(seconds=5)
# httpx applies the timeout to each phase (pool, connect, write, read): a delivery can take this many.
_TIMEOUT_PHASES = 4


def lease_for(timeout_seconds: float) -> timedelta:
    """How long a lease holds a task: longer than the slowest delivery, so no task is sent twice at once."""
    return timedelta(seconds=timeout_seconds * _TIMEOUT_PHASES) + LEASE_MARGIN


def retry_delay(*, attempts: int, minimum: timedelta, maximum: timedelta, rng: random.Random) -> timedelta:
    """The pause after the ``attempts``-th failure: doubling from ``minimum``, jittered, at most ``maximum``.

    The jitter ("full jitter" on top of the base) spreads the retries of many
    tasks to one recovering system instead of sending them all at once.
    """
    base = minimum * (2 ** min(max(attempts - 1, 0), 32))
    base = min(base, maximum)
    jittered: timedelta = base + base * rng.random()
    return min(maximum, jittered)
