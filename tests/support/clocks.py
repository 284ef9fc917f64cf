"""A monotonic clock the test moves by hand, for the caches and intervals that take one."""

from __future__ import annotations


class FakeMonotonic:
    """Seconds on a monotonic clock, as ``time.monotonic`` gives them; set ``now`` or ``advance`` it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
