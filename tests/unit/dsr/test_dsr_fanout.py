"""The pause between delivery attempts: exponential, jittered, bounded on both sides."""

from __future__ import annotations

import random
from datetime import timedelta

from privacy_service.dsr.outbox import retry_delay

MINIMUM = timedelta(seconds=30)
MAXIMUM = timedelta(hours=1)


def delays(seed: int, attempts: range) -> list[timedelta]:
    rng = random.Random(seed)
    return [retry_delay(attempts=n, minimum=MINIMUM, maximum=MAXIMUM, rng=rng) for n in attempts]


def test_each_delay_is_its_doubling_base_plus_a_jitter_of_at_most_the_base_again() -> None:
    for seed in range(20):
        for attempts, delay in zip(range(1, 7), delays(seed, range(1, 7)), strict=True):
            base = MINIMUM * 2 ** (attempts - 1)  # 30 s … 16 min: all below the cap
            assert base <= delay <= 2 * base, (seed, attempts, delay)


def test_the_delay_grows_with_the_attempts() -> None:
    for seed in range(20):
        series = delays(seed, range(1, 9))
        assert series == sorted(series), seed
        assert series[-1] >= 8 * series[0], seed


def test_the_jitter_spreads_the_retries_of_many_tasks() -> None:
    rng = random.Random(1)
    spread = {retry_delay(attempts=3, minimum=MINIMUM, maximum=MAXIMUM, rng=rng) for _ in range(50)}
    assert len(spread) > 40
    assert min(spread) < MINIMUM * 4 * 1.25
    assert max(spread) > MINIMUM * 4 * 1.75


def test_the_same_seed_gives_the_same_delays() -> None:
    assert delays(42, range(1, 10)) == delays(42, range(1, 10))


def test_the_delay_never_exceeds_the_maximum_however_many_attempts() -> None:
    for seed in range(20):
        assert max(delays(seed, range(1, 200))) <= MAXIMUM
    assert delays(3, range(12, 15)) == [MAXIMUM] * 3
    assert delays(3, range(10_000, 10_001)) == [MAXIMUM]


def test_the_delay_is_never_below_the_minimum_even_for_a_nonsense_attempt_count() -> None:
    for seed in range(20):
        assert min(delays(seed, range(-3, 3))) >= MINIMUM
