"""A bounded, time-limited, thread-safe cache of unwrapped data keys.

Reading a record must not unwrap its key once per field; holding every key
forever would keep erased subjects readable in memory. Entries live at most
``ttl_seconds`` and the least recently used go first beyond ``max_entries``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from privacy_service.crypto import DataKey


class DataKeyCache:
    def __init__(
        self, *, max_entries: int, ttl_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._entries: OrderedDict[str, tuple[float, DataKey]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, subject_id: str) -> DataKey | None:
        with self._lock:
            entry = self._entries.get(subject_id)
            if entry is None:
                return None
            expires_at, key = entry
            if self._monotonic() >= expires_at:
                del self._entries[subject_id]
                return None
            self._entries.move_to_end(subject_id)
            return key

    def get_many(self, subject_ids: Iterable[str]) -> dict[str, DataKey]:
        """The live keys of ``subject_ids``, under one lock and one reading of the clock; misses left out.

        The same rules as ``get``, key by key: an expired entry is dropped, a hit becomes the most
        recently used.
        """
        found: dict[str, DataKey] = {}
        with self._lock:
            entries = self._entries
            now = self._monotonic()
            for subject_id in subject_ids:
                entry = entries.get(subject_id)
                if entry is None:
                    continue
                if now >= entry[0]:
                    del entries[subject_id]
                    continue
                entries.move_to_end(subject_id)
                found[subject_id] = entry[1]
        return found

    def put(self, subject_id: str, key: DataKey) -> None:
        if self._max_entries == 0 or self._ttl == 0:
            return
        with self._lock:
            self._entries[subject_id] = (self._monotonic() + self._ttl, key)
            self._entries.move_to_end(subject_id)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def evict(self, subject_id: str) -> None:
        with self._lock:
            self._entries.pop(subject_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
