"""Blind index: exact-match search over encrypted values without storing them in plaintext.

A blind index stores ``HMAC-SHA256(key, purpose, normalise(value))`` next to
the ciphertext; looking up a value means computing its digest and matching it.

What it leaks, by design: whether two rows hold the same (normalised) value,
and so how often each value occurs. Anyone holding the index key can confirm a
guess ("is alice@example.com a customer?") by computing its digest; that is
why the index is keyed (a plain hash of an email address falls to a dictionary
in seconds) and why its key is separate from the KEKs and the pepper, and is
never stored in the database. The purpose label keeps indexes of different
fields unlinkable: the same string indexed as an email and as a phone number
gives unrelated digests.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from privacy_service.crypto.errors import InvalidKeyMaterial
from privacy_service.crypto.key_material import KEY_SIZE

_LABEL = b"privacy-service/blind-index/v1\x00"


class BlindIndex:
    """Keyed digests of normalised values for one purpose (for example ``"email"``)."""

    def __init__(self, *, key: bytes, purpose: str) -> None:
        if len(key) != KEY_SIZE:
            raise InvalidKeyMaterial(f"blind index key must be {KEY_SIZE} bytes")
        if not purpose:
            raise ValueError("a blind index needs a purpose, such as 'email'")
        self.purpose = purpose
        encoded_purpose = purpose.encode()
        # Label and length-prefixed purpose come first, so the value that
        # follows cannot shift into the purpose; the prepared state is copied
        # per digest instead of re-keying HMAC each time.
        self._prefixed = hmac.new(
            key, _LABEL + len(encoded_purpose).to_bytes(4, "big") + encoded_purpose, hashlib.sha256
        )

    @staticmethod
    def normalise(value: str) -> str:
        """Return the form two spellings of one value share: trimmed, NFKC, case-folded.

        ``" Alice@Example.COM "`` (even with a fullwidth ``A``, U+FF21) and
        ``"alice@example.com"`` normalise alike.
        Case-folding an email's local part is wrong in theory (RFC 5321 §2.4)
        and right in practice: no mail provider tells those addresses apart.
        NFKC is applied again after case-folding because folding can leave a
        string that is no longer NFKC-normal (Unicode §3.13, toNFKC_Casefold).
        """
        return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).strip().casefold())

    def digest(self, value: str) -> bytes:
        """Return the 32-byte index of ``value`` for this purpose."""
        mac = self._prefixed.copy()
        mac.update(self.normalise(value).encode())
        return mac.digest()

    def __repr__(self) -> str:
        return f"BlindIndex(purpose={self.purpose!r})"
