"""The one cache type: bounded in entries (least recently used first), limited in time, shared by threads."""

from __future__ import annotations

import threading

import pytest

from privacy_service.core.cache import TtlCache
from tests.support.clocks import FakeMonotonic


def test_a_value_lives_its_seconds_from_the_put_however_often_it_is_read() -> None:
    ticker = FakeMonotonic(now=0.0)
    cache: TtlCache[str, int] = TtlCache(max_entries=10, ttl_seconds=60, monotonic=ticker)
    cache.put("a", 1)
    ticker.now = 30.0
    assert cache.get("a") == 1  # read half-way: the time limit does not move
    ticker.now = 59.9
    assert cache.get("a") == 1
    ticker.now = 60.0
    assert cache.get("a") is None
    assert len(cache) == 0  # the expired entry is dropped as it is met


def test_a_key_never_put_is_not_held() -> None:
    cache: TtlCache[str, int] = TtlCache(max_entries=10, ttl_seconds=60)
    assert cache.get("a") is None
    assert cache.get_many(["a", "b"]) == {}


def test_putting_again_replaces_the_value_and_restarts_its_time() -> None:
    ticker = FakeMonotonic(now=0.0)
    cache: TtlCache[str, int] = TtlCache(max_entries=10, ttl_seconds=60, monotonic=ticker)
    cache.put("a", 1)
    ticker.now = 50.0
    cache.put("a", 2)
    ticker.now = 100.0
    assert cache.get("a") == 2
    assert len(cache) == 1


def test_beyond_the_bound_the_least_recently_used_goes_first() -> None:
    cache: TtlCache[str, int] = TtlCache(max_entries=2, ttl_seconds=60, monotonic=FakeMonotonic())
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    cache.put("a", 4)  # put again: the most recently used, c goes next
    cache.put("d", 5)
    assert cache.get_many(["a", "c", "d"]) == {"a": 4, "d": 5}


def test_many_keys_are_read_by_the_rules_of_one() -> None:
    ticker = FakeMonotonic(now=0.0)
    cache: TtlCache[str, int] = TtlCache(max_entries=3, ttl_seconds=60, monotonic=ticker)
    cache.put("old", 0)
    ticker.now = 30.0
    cache.put("a", 1)
    cache.put("b", 2)
    ticker.now = 60.0
    assert cache.get_many(["a", "old", "missing"]) == {"a": 1}
    assert len(cache) == 2  # the expired entry is dropped
    cache.put("c", 3)
    cache.put("d", 4)  # beyond the bound: b, not a (just read), goes first
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}


def test_an_evicted_key_and_a_cleared_cache_hold_nothing() -> None:
    cache: TtlCache[str, int] = TtlCache(max_entries=10, ttl_seconds=60)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.evict("a")
    cache.evict("never put")
    assert cache.get("a") is None
    assert cache.get("b") == 2
    cache.clear()
    assert cache.get("b") is None
    assert len(cache) == 0


@pytest.mark.parametrize(("max_entries", "ttl_seconds"), [(0, 60), (10, 0), (0, 0)])
def test_a_cache_of_no_entries_or_no_time_keeps_nothing(max_entries: int, ttl_seconds: float) -> None:
    cache: TtlCache[str, int] = TtlCache(max_entries=max_entries, ttl_seconds=ttl_seconds)
    cache.put("a", 1)
    assert cache.get("a") is None
    assert len(cache) == 0


@pytest.mark.parametrize(("max_entries", "ttl_seconds"), [(-1, 60), (10, -0.5)])
def test_a_negative_size_or_time_is_refused(max_entries: int, ttl_seconds: float) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        TtlCache[str, int](max_entries=max_entries, ttl_seconds=ttl_seconds)


def test_threads_sharing_a_cache_never_take_it_past_its_bound_nor_read_another_keys_value() -> None:
    cache: TtlCache[int, int] = TtlCache(max_entries=64, ttl_seconds=60)
    wrong: list[tuple[int, int]] = []
    start = threading.Barrier(4)

    def use(offset: int) -> None:
        start.wait()
        for round_number in range(2000):
            key = (offset * 7919 + round_number) % 200
            cache.put(key, key * 3)
            value = cache.get(key)
            if value is not None and value != key * 3:
                wrong.append((key, value))
            for found_key, found in cache.get_many([key, key + 1, key + 2]).items():
                if found != found_key * 3:
                    wrong.append((found_key, found))
            if round_number % 50 == 0:
                cache.evict(key)

    threads = [threading.Thread(target=use, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
    assert len(cache) <= 64
