from __future__ import annotations

from privacy_service.crypto import DataKey, generate_data_key
from privacy_service.keys.cache import DataKeyCache
from tests.support.clocks import FakeMonotonic


def key(name: str) -> DataKey:
    return DataKey(key_id=name, version=1, material=generate_data_key())


def test_a_key_expires_after_its_time_limit() -> None:
    ticker = FakeMonotonic(now=0.0)
    cache = DataKeyCache(max_entries=10, ttl_seconds=60, monotonic=ticker)
    cache.put("a", key("a"))
    ticker.now = 59.9
    assert cache.get("a") is not None
    ticker.now = 60.0
    assert cache.get("a") is None
    assert len(cache) == 0


def test_the_least_recently_used_key_goes_first_beyond_the_bound() -> None:
    cache = DataKeyCache(max_entries=2, ttl_seconds=60, monotonic=FakeMonotonic(now=0.0))
    cache.put("a", key("a"))
    cache.put("b", key("b"))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", key("c"))
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None


def test_evicted_and_cleared_keys_are_gone() -> None:
    cache = DataKeyCache(max_entries=10, ttl_seconds=60, monotonic=FakeMonotonic(now=0.0))
    cache.put("a", key("a"))
    cache.put("b", key("b"))
    cache.evict("a")
    assert cache.get("a") is None
    cache.clear()
    assert cache.get("b") is None


def test_a_zero_sized_cache_keeps_nothing() -> None:
    for cache in (DataKeyCache(max_entries=0, ttl_seconds=60), DataKeyCache(max_entries=10, ttl_seconds=0)):
        cache.put("a", key("a"))
        assert cache.get("a") is None


def test_many_keys_are_read_by_the_same_rules_as_one() -> None:
    ticker = FakeMonotonic(now=0.0)
    cache = DataKeyCache(max_entries=3, ttl_seconds=60, monotonic=ticker)
    cache.put("old", key("old"))
    ticker.now = 30.0
    cache.put("a", key("a"))
    cache.put("b", key("b"))
    ticker.now = 60.0
    found = cache.get_many(["a", "old", "missing"])
    assert sorted(found) == ["a"]  # the expired key and the unknown subject are left out
    assert len(cache) == 2  # the expired entry is dropped
    cache.put("c", key("c"))
    cache.put("d", key("d"))  # beyond the bound: b, not a (just read), goes first
    assert sorted(cache.get_many(["a", "b", "c", "d"])) == ["a", "c", "d"]
