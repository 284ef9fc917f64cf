"""The pepper: one secret kept outside the database, split into a sub-key per use.

ASVS 4.0.3 2.4.5 asks for a secret "salt" stored apart from the password
hashes, so that a stolen database alone cannot be attacked offline. The key
provider holds one 256-bit pepper key (it never rotates: every stored value
keyed by it would break). Each use gets its own sub-key, derived with
HKDF-SHA256 (RFC 5869) and a purpose label, so a value computed for one
purpose (a peppered password hash) can never be confused with another (a
recovery-code digest), and no primitive ever sees the same key twice.
"""

from __future__ import annotations

from enum import StrEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy_service.crypto.errors import InvalidKeyMaterial
from privacy_service.crypto.key_material import KEY_SIZE

_INFO_PREFIX = b"privacy-service/pepper/v1/"


class PepperPurpose(StrEnum):
    """What a pepper sub-key is for; each purpose derives an unrelated key."""

    # The value is the HKDF label of the password sub-key: changing it would make every stored
    # password unverifiable, so it keeps its old wording ("seal" now means only the audit chain).
    PASSWORD_HASH = "password-seal"  # noqa: S105 - a label, not a password
    LOGIN_THROTTLE = "login-throttle"
    OPAQUE_TOKEN = "opaque-token"  # noqa: S105 - a label, not a token
    RECOVERY_CODE = "recovery-code"


def pepper_subkey(pepper_key: bytes, *, purpose: PepperPurpose) -> bytes:
    """Return the 256-bit sub-key of ``pepper_key`` for ``purpose`` (HKDF-SHA256, RFC 5869 §2)."""
    if len(pepper_key) != KEY_SIZE:
        raise InvalidKeyMaterial(f"pepper key must be {KEY_SIZE} bytes")
    # The pepper key is already uniformly random, so HKDF's extract step needs
    # no salt (RFC 5869 §3.1); the purpose goes into ``info``.
    derivation = HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=_INFO_PREFIX + purpose.encode()
    )
    return derivation.derive(pepper_key)
