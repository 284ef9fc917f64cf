"""Ed25519 signatures (RFC 8032) over opaque bytes: audit checkpoints and anything else that must be provable.

A private key is its 32-byte seed, so a key provider can wrap it like a data
key; the public key is the 32-byte encoding RFC 8032 §5.1.5 defines. A bad
signature, a wrong key or altered bytes raise ``BadSignature``: there is no
boolean to forget to check.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from privacy_service.crypto.errors import CryptoError, InvalidKeyMaterial

ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64


class BadSignature(CryptoError):
    """The signature does not verify under the given public key: forged, altered bytes or another key."""

    code = "bad_signature"
    status = 400
    title = "Signature does not verify"


def generate_signing_key() -> bytes:
    """A fresh Ed25519 private key, as its 32 raw bytes (to be wrapped by a key provider at once)."""
    return Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _private_key(private_key: bytes) -> Ed25519PrivateKey:
    if len(private_key) != ED25519_KEY_SIZE:
        raise InvalidKeyMaterial(f"an Ed25519 private key must be {ED25519_KEY_SIZE} bytes")
    return Ed25519PrivateKey.from_private_bytes(private_key)


def public_key_of(private_key: bytes) -> bytes:
    """The 32-byte public key that verifies what ``private_key`` signs."""
    return _private_key(private_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(*, private_key: bytes, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``message``."""
    return _private_key(private_key).sign(message)


def verify_signature(*, public_key: bytes, message: bytes, signature: bytes) -> None:
    """Return quietly if ``signature`` is ``public_key``'s over ``message``; else raise ``BadSignature``."""
    if len(public_key) != ED25519_KEY_SIZE:
        raise InvalidKeyMaterial(f"an Ed25519 public key must be {ED25519_KEY_SIZE} bytes")
    if len(signature) != ED25519_SIGNATURE_SIZE:
        raise BadSignature()
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        raise BadSignature() from None
