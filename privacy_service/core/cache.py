"""The one kind of cache the service keeps: bounded, time-limited, shared by a process's threads.

Everything cached here can be had again from the database or the key
provider, and holding it has a cost: memory, and a change elsewhere (a key
shredded, a client disabled, a signing key rotated) reaching this process only
when its copy expires. So every cache is bounded twice: at most
``max_entries`` entries, the least recently used going first, and each entry
lives ``ttl_seconds`` from the moment it was put, on a monotonic clock,
however often it is read. A cache of no entries or no time keeps nothing,
which is how a setting turns one off.

Which caches exist and what each earns: ``benchmarks/README.md``, "caches.py".
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """``key → value`` for at most ``ttl_seconds`` each and ``max_entries`` in all; thread-safe.

    Values are never ``None``: ``get`` answers ``None`` for a key it does not
    hold, or no longer holds because its time ran out.
    """

    __slots__ = ("_entries", "_lock", "_monotonic", "max_entries", "ttl_seconds")

    def __init__(
        self, *, max_entries: int, ttl_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 0 or ttl_seconds < 0:
            raise ValueError("a cache's size and time limit must not be negative")
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._monotonic = monotonic
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value put under ``key`` while it is live (it becomes the most recently used), else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._monotonic() >= entry[0]:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The live values of ``keys`` by the rules of ``get``, under one lock and one reading of the clock.

        Keys not held, or no longer, are left out.
        """
        found: dict[K, V] = {}
        with self._lock:
            entries = self._entries
            now = self._monotonic()
            for key in keys:
                entry = entries.get(key)
                if entry is None:
                    continue
                if now >= entry[0]:
                    del entries[key]
                    continue
                entries.move_to_end(key)
                found[key] = entry[1]
        return found

    def put(self, key: K, value: V) -> None:
        """Hold ``value`` under ``key`` for ``ttl_seconds``; past the bound, the least recently used goes."""
        if self.max_entries == 0 or self.ttl_seconds == 0:
            return
        with self._lock:
            self._entries[key] = (self._monotonic() + self.ttl_seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def evict(self, key: K) -> None:
        """Forget ``key`` now (its value is no longer true), if it is held."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        """How many entries are held, counting expired ones not yet dropped."""
        with self._lock:
            return len(self._entries)
