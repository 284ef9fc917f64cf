"""Ed25519 signatures: RFC 8032 vectors, and every way a signature can fail to verify."""

from __future__ import annotations

import pytest

from privacy_service.crypto import InvalidKeyMaterial
from privacy_service.crypto.signing import (
    BadSignature,
    generate_signing_key,
    public_key_of,
    sign,
    verify_signature,
)

# RFC 8032 §7.1, TEST 2: a one-byte message.
RFC8032_SECRET = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC8032_PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
RFC8032_MESSAGE = bytes.fromhex("72")
RFC8032_SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)


def test_the_rfc_8032_vector_signs_and_verifies() -> None:
    assert public_key_of(RFC8032_SECRET) == RFC8032_PUBLIC
    assert sign(private_key=RFC8032_SECRET, message=RFC8032_MESSAGE) == RFC8032_SIGNATURE
    verify_signature(public_key=RFC8032_PUBLIC, message=RFC8032_MESSAGE, signature=RFC8032_SIGNATURE)


def test_a_generated_key_signs_what_its_public_key_verifies() -> None:
    private_key = generate_signing_key()
    assert len(private_key) == 32
    signature = sign(private_key=private_key, message=b"checkpoint")
    verify_signature(public_key=public_key_of(private_key), message=b"checkpoint", signature=signature)


def test_an_altered_message_does_not_verify() -> None:
    with pytest.raises(BadSignature):
        verify_signature(public_key=RFC8032_PUBLIC, message=b"\x73", signature=RFC8032_SIGNATURE)


def test_another_key_does_not_verify() -> None:
    other = public_key_of(generate_signing_key())
    with pytest.raises(BadSignature):
        verify_signature(public_key=other, message=RFC8032_MESSAGE, signature=RFC8032_SIGNATURE)


@pytest.mark.parametrize("signature", [b"", RFC8032_SIGNATURE[:-1], bytes(64)])
def test_a_malformed_or_forged_signature_does_not_verify(signature: bytes) -> None:
    with pytest.raises(BadSignature):
        verify_signature(public_key=RFC8032_PUBLIC, message=RFC8032_MESSAGE, signature=signature)


@pytest.mark.parametrize("size", [0, 31, 33])
def test_a_key_of_the_wrong_size_is_refused(size: int) -> None:
    with pytest.raises(InvalidKeyMaterial):
        sign(private_key=bytes(size), message=b"m")
    with pytest.raises(InvalidKeyMaterial):
        verify_signature(public_key=bytes(size), message=b"m", signature=RFC8032_SIGNATURE)
