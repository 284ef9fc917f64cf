"""The cache of unwrapped data keys: a ``TtlCache`` from subject id to its ``DataKey``.

Reading a record must not unwrap its key once per field; holding every key
forever would keep erased subjects readable in memory. So entries live at most
``PRIVACY_DATA_KEY_CACHE_SECONDS`` and the least recently used go first beyond
``PRIVACY_DATA_KEY_CACHE_SIZE``; a shred evicts the subject's key at once in
the process that shreds (``Keyring.shred``). Without it, reading one record costs 1.6-1.9x the CPU
and loading 300 profiles 1.6-2.3x (``benchmarks/README.md``, "caches.py").
"""

from __future__ import annotations

from typing import TypeAlias

from privacy_service.core.cache import TtlCache
from privacy_service.crypto import DataKey

DataKeyCache: TypeAlias = TtlCache[str, DataKey]
