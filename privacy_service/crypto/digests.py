"""Keyed digests (HMAC-SHA256 under a domain label) and constant-time comparison, for the layers above.

Whatever a digest keeps out of a log or a table (an account counted by the
login throttle, a caller remembered by the admission) is keyed, or a
dictionary of emails and addresses undoes it in seconds. ``KeyedDigest``
fixes the key and a label once, so two uses never produce comparable
digests, and copies the prepared HMAC state per digest instead of keying
it again. ``digest_parts`` length-prefixes each part, so ``("ab", "c")`` and
``("a", "bc")`` differ.

``equal_in_constant_time`` compares secrets and digests without telling,
by the time it takes, how long a prefix matched.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import AnyStr

from privacy_service.crypto.errors import InvalidKeyMaterial
from privacy_service.crypto.key_material import KEY_SIZE


class KeyedDigest:
    """HMAC-SHA256 under one 256-bit key, every message prefixed with ``label``."""

    __slots__ = ("_prefixed",)

    def __init__(self, *, key: bytes, label: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise InvalidKeyMaterial(f"a digest key must be {KEY_SIZE} bytes")
        if not label:
            raise ValueError("a keyed digest needs a label naming its use")
        self._prefixed = hmac.new(key, label, hashlib.sha256)

    def digest(self, message: bytes) -> bytes:
        """The 32-byte digest of ``label || message``."""
        mac = self._prefixed.copy()
        mac.update(message)
        return mac.digest()

    def digest_parts(self, *parts: bytes | str) -> bytes:
        """The 32-byte digest of the parts, each length-prefixed (strings as UTF-8)."""
        mac = self._prefixed.copy()
        for part in parts:
            encoded = part.encode() if isinstance(part, str) else part
            mac.update(len(encoded).to_bytes(4, "big") + encoded)
        return mac.digest()

    def __repr__(self) -> str:
        return "KeyedDigest(<key hidden>)"


def equal_in_constant_time(a: AnyStr, b: AnyStr) -> bool:
    """Whether ``a`` equals ``b``, taking a time that depends on their lengths only (strings: ASCII)."""
    return hmac.compare_digest(a, b)
