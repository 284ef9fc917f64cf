"""Opaque bearer secrets (client secrets, MFA tokens) and the keyed digests they are stored as.

A token is 256 bits from the operating system's CSPRNG, so a fast keyed hash
protects it as well as a slow one would (there is no dictionary to search).
The digest is HMAC-SHA256 under a sub-key of the pepper (ASVS 4.0.3 2.4.5): a
stolen database gives nothing to test guesses against offline. ``kind``
separates the domains, so a client secret can never be replayed as an MFA
token even if the two strings were equal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from privacy_service.crypto.pepper import PepperPurpose, pepper_subkey

TOKEN_BYTES = 32


def new_opaque_token() -> str:
    """A fresh URL-safe token carrying 256 random bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


class OpaqueTokenDigests:
    """Keyed digests of opaque tokens, for storage and constant-time comparison."""

    __slots__ = ("_key",)

    def __init__(self, *, pepper_key: bytes) -> None:
        self._key = pepper_subkey(pepper_key, purpose=PepperPurpose.OPAQUE_TOKEN)

    def digest(self, token: str, *, kind: str) -> bytes:
        message = kind.encode() + b"\x00" + token.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def matches(self, token: str, stored: bytes, *, kind: str) -> bool:
        """Compare in constant time (the one boolean here: callers raise their own named error)."""
        return hmac.compare_digest(self.digest(token, kind=kind), stored)

    def __repr__(self) -> str:
        return "OpaqueTokenDigests(<key hidden>)"
