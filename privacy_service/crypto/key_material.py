"""Raw secret keys: their size, their text form, and fresh ones for operators.

Keys travel as standard base64 (RFC 4648 §4) text: in the key file and in
environment variables. Decoding is strict and errors name the key's role
(``"kek v2"``, ``"blind index key"``), never its value.
"""

from __future__ import annotations

import base64
import secrets

from privacy_service.crypto.errors import InvalidKeyMaterial

#: Every secret key in this package is 256 bits: AES-256 keys (KEKs, data keys)
#: and HMAC-SHA256 keys (blind index, pepper), which RFC 2104 §3 recommends be
#: at least the hash output length.
KEY_SIZE = 32


def generate_key() -> bytes:
    """Return a fresh random 256-bit key from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_SIZE)


def encode_key(key: bytes) -> str:
    """Return the base64 text form of a key, as stored in the key file or the environment."""
    return base64.b64encode(key).decode("ascii")


def decode_key(*, encoded: str, role: str) -> bytes:
    """Decode a base64 key and check it is exactly 256 bits.

    Surrounding whitespace is ignored (values read from files often end in a
    newline); anything else that is not base64 is refused.
    """
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:  # binascii.Error (bad alphabet or padding) and non-ASCII text alike
        raise InvalidKeyMaterial(f"{role}: not valid base64") from None
    if len(key) != KEY_SIZE:
        raise InvalidKeyMaterial(f"{role}: must decode to {KEY_SIZE} bytes, got {len(key)}")
    return key


def generate_key_material() -> dict[str, str]:
    """Return fresh base64 values for a new deployment's environment, one per role.

    The keys match the keyword arguments of ``EnvironmentKeys``; the settings
    layer decides the variable names. Add a KEK version later with another
    ``encode_key(generate_key())``.
    """
    return {
        "kek": encode_key(generate_key()),
        "blind_index_key": encode_key(generate_key()),
        "pepper_key": encode_key(generate_key()),
    }
