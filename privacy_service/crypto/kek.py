"""Key-encryption keys (KEKs): versioned AES-256 keys that wrap per-subject data keys.

A ``KekRing`` is an immutable snapshot of a provider's secrets. Providers that
hold KEKs in process memory (the local key file, the environment) delegate to
it, so both wrap and unwrap the same way.

Wrapping is AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce. §8.3
limits random-nonce GCM to 2**32 invocations per key; a KEK wraps one data key
per subject and per rotation, far below that, and rotating to a new version
starts a fresh count.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_service.crypto.errors import (
    DecryptionFailed,
    InvalidKeyMaterial,
    MalformedCiphertext,
    UnknownKeyVersion,
)
from privacy_service.crypto.key_material import KEY_SIZE

#: Versions are stored in PostgreSQL ``integer`` columns next to wrapped keys.
MAX_KEY_VERSION = 2**31 - 1

_NONCE_SIZE = 12  # 96 bits, the length SP 800-38D §8.2 recommends
_TAG_SIZE = 16
_WRAPPED_SIZE = _NONCE_SIZE + KEY_SIZE + _TAG_SIZE

# Domain separation: a wrapped-key blob can never verify as anything else, and
# binding the version means a blob relabelled with another version fails too.
_WRAP_LABEL = b"privacy-service/kek-wrap/v1\x00"


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under one KEK version; safe to store next to the data it protects."""

    kek_version: int
    blob: bytes = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class KekRing:
    """All KEK versions of a provider plus its two non-rotating secrets, checked on construction."""

    keks: Mapping[int, bytes] = field(repr=False)
    current_version: int
    blind_index_key: bytes = field(repr=False)
    pepper_key: bytes = field(repr=False)
    _ciphers: Mapping[int, AESGCM] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not all(1 <= version <= MAX_KEY_VERSION for version in self.keks):
            raise InvalidKeyMaterial(f"KEK versions must be between 1 and {MAX_KEY_VERSION}")
        if self.current_version not in self.keks:
            raise InvalidKeyMaterial(f"current KEK version {self.current_version} is not among the KEKs")
        all_keys = [*self.keks.values(), self.blind_index_key, self.pepper_key]
        if any(len(secret) != KEY_SIZE for secret in all_keys):
            raise InvalidKeyMaterial(f"every key must be {KEY_SIZE} bytes")
        # A pasted-twice value would tie the blind index, the pepper or two KEK
        # versions to one secret, so losing one would lose them all.
        if len(set(all_keys)) != len(all_keys):
            raise InvalidKeyMaterial("KEKs, blind index key and pepper key must all differ")
        ciphers = {version: AESGCM(key) for version, key in self.keks.items()}
        object.__setattr__(self, "_ciphers", ciphers)

    def versions(self) -> tuple[int, ...]:
        """Return every KEK version held, ascending."""
        return tuple(sorted(self.keks))

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> WrappedKey:
        """Encrypt a 256-bit data key under the current KEK, bound to ``associated_data``."""
        if len(data_key) != KEY_SIZE:
            raise InvalidKeyMaterial(f"data key must be {KEY_SIZE} bytes, got {len(data_key)}")
        version = self.current_version
        nonce = os.urandom(_NONCE_SIZE)
        ciphertext = self._ciphers[version].encrypt(nonce, data_key, _wrap_aad(version, associated_data))
        return WrappedKey(kek_version=version, blob=nonce + ciphertext)

    def unwrap(self, wrapped: WrappedKey, *, associated_data: bytes) -> bytes:
        """Return the data key inside ``wrapped``, or raise if it does not verify.

        Raises ``UnknownKeyVersion`` if its KEK version is not held,
        ``MalformedCiphertext`` if the blob has the wrong size and
        ``DecryptionFailed`` if the blob or ``associated_data`` do not match.
        """
        cipher = self._ciphers.get(wrapped.kek_version)
        if cipher is None:
            raise UnknownKeyVersion(f"KEK version {wrapped.kek_version} is not held by this key provider")
        blob = wrapped.blob
        if len(blob) != _WRAPPED_SIZE:
            raise MalformedCiphertext(f"a wrapped key is {_WRAPPED_SIZE} bytes, got {len(blob)}")
        try:
            return cipher.decrypt(
                blob[:_NONCE_SIZE], blob[_NONCE_SIZE:], _wrap_aad(wrapped.kek_version, associated_data)
            )
        except InvalidTag:
            raise DecryptionFailed("wrapped key did not verify under its KEK") from None


def _wrap_aad(version: int, associated_data: bytes) -> bytes:
    """Label, then the 4-byte version, then the caller's data (last, so it needs no length prefix)."""
    return _WRAP_LABEL + version.to_bytes(4, "big") + associated_data
