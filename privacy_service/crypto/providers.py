"""Key providers: where the key-encryption keys (KEKs) live, and the one interface to them.

Each data subject's 256-bit data key is stored wrapped (encrypted) under the
current KEK version. ``keys/`` depends on the ``KeyProvider`` protocol only,
never on a concrete provider, so where the KEKs live is a setting:

- ``LocalKeyFile``: the embedded default, a 0600 JSON file created on first run.
- ``EnvironmentKeys``: base64 values passed in by the settings layer (containers).

The protocol is deliberately the shape an external KMS offers. A KEK inside
HashiCorp Vault Transit or AWS KMS never leaves it; such a provider would map
``wrap`` to Transit ``encrypt`` / KMS ``Encrypt`` (``associated_data`` as the
Transit context or KMS encryption context), ``unwrap`` to their ``decrypt``,
and the version to the KMS key version. The blind index and pepper keys must
reach this process to be used; such a provider would keep them wrapped by the
KMS at rest and unwrap them once at start-up.
"""

from __future__ import annotations

from typing import Protocol

from privacy_service.crypto.environment_keys import EnvironmentKeys
from privacy_service.crypto.kek import WrappedKey
from privacy_service.crypto.key_file import LocalKeyFile

__all__ = ["EnvironmentKeys", "KeyProvider", "LocalKeyFile", "WrappedKey"]


class KeyProvider(Protocol):
    """Versioned KEKs that wrap and unwrap 256-bit data keys, plus two non-rotating secrets."""

    def current_version(self) -> int:
        """The KEK version ``wrap`` uses now."""
        ...

    def versions(self) -> tuple[int, ...]:
        """Every KEK version that can still unwrap, ascending."""
        ...

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> WrappedKey:
        """Encrypt ``data_key`` under the current KEK version, bound to ``associated_data``.

        Callers pass the subject id as ``associated_data``, so a wrapped key
        copied to another subject does not unwrap.
        """
        ...

    def unwrap(self, wrapped: WrappedKey, *, associated_data: bytes) -> bytes:
        """Return the data key inside ``wrapped``.

        Raises ``UnknownKeyVersion``, ``MalformedCiphertext`` or ``DecryptionFailed``.
        """
        ...

    def blind_index_key(self) -> bytes:
        """The 256-bit key of the blind index; it does not rotate (every stored index would change)."""
        ...

    def pepper_key(self) -> bytes:
        """The 256-bit key that peppers password hashes; it does not rotate (every hash would break)."""
        ...
