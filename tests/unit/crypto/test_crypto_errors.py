"""Crypto errors: the shape the API layer maps to RFC 9457 problems, one stable code each."""

from __future__ import annotations

import pytest

from privacy_service.crypto import (
    CryptoError,
    DecryptionFailed,
    InsecureKeyFile,
    InvalidKeyMaterial,
    KeyVersionInUse,
    MalformedCiphertext,
    UnknownKeyVersion,
)

ERRORS: list[type[CryptoError]] = [
    DecryptionFailed,
    InsecureKeyFile,
    InvalidKeyMaterial,
    KeyVersionInUse,
    MalformedCiphertext,
    UnknownKeyVersion,
]


def test_each_crypto_error_has_its_own_stable_code() -> None:
    assert {error.code for error in ERRORS} == {
        "decryption_failed",
        "insecure_key_file",
        "invalid_key_material",
        "key_version_in_use",
        "malformed_ciphertext",
        "unknown_key_version",
    }


@pytest.mark.parametrize("error", ERRORS)
def test_a_crypto_error_without_detail_reads_as_its_title(error: type[CryptoError]) -> None:
    raised = error()
    assert raised.detail == error.title == str(raised)
    assert 400 <= error.status <= 599


def test_a_crypto_error_keeps_its_detail_and_extensions() -> None:
    raised = UnknownKeyVersion("KEK version 9 is not held", version=9)
    assert str(raised) == "KEK version 9 is not held"
    assert raised.extensions == {"version": 9}
