from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from privacy_service.core.clock import FrozenClock, SystemClock


def test_the_system_clock_is_timezone_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo == UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2026, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC
    assert clock.advance(timedelta(days=31)) == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2027, 1, 1, tzinfo=UTC)


def test_a_frozen_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock(datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock().set(datetime(2026, 1, 1))  # noqa: DTZ001
