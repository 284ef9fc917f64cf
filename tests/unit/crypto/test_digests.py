"""Keyed digests and constant-time comparison: what the layers above keep instead of a value."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from privacy_service.crypto import InvalidKeyMaterial, KeyedDigest, equal_in_constant_time

KEY = bytes(range(32))
LABEL = b"privacy-service/test/v1\x00"


def test_a_digest_is_hmac_sha256_of_the_label_and_the_message() -> None:
    digests = KeyedDigest(key=KEY, label=LABEL)
    assert digests.digest(b"alice") == hmac.new(KEY, LABEL + b"alice", hashlib.sha256).digest()
    assert digests.digest(b"alice") == digests.digest(b"alice")  # the prepared state is copied, not spent


def test_another_key_or_label_gives_an_unrelated_digest() -> None:
    digest = KeyedDigest(key=KEY, label=LABEL).digest(b"alice")
    assert KeyedDigest(key=bytes(32), label=LABEL).digest(b"alice") != digest
    assert KeyedDigest(key=KEY, label=b"privacy-service/other/v1\x00").digest(b"alice") != digest


def test_parts_are_length_prefixed_so_moving_a_boundary_changes_the_digest() -> None:
    digests = KeyedDigest(key=KEY, label=LABEL)
    assert digests.digest_parts("ab", "c") != digests.digest_parts("a", "bc")
    assert digests.digest_parts("alice", b"\x00") == digests.digest_parts(b"alice", b"\x00")
    assert digests.digest_parts("é") == digests.digest(len("é".encode()).to_bytes(4, "big") + "é".encode())
    assert len(digests.digest_parts()) == 32


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(33)])
def test_a_digest_key_must_be_256_bits(key: bytes) -> None:
    with pytest.raises(InvalidKeyMaterial, match="32 bytes"):
        KeyedDigest(key=key, label=LABEL)


def test_a_keyed_digest_needs_a_label() -> None:
    with pytest.raises(ValueError, match="label"):
        KeyedDigest(key=KEY, label=b"")


def test_the_key_never_shows_in_the_repr() -> None:
    assert repr(KeyedDigest(key=KEY, label=LABEL)) == "KeyedDigest(<key hidden>)"


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (b"digest", b"digest", True),
        (b"digest", b"digesT", False),
        (b"digest", b"diges", False),
        ("0a1b", "0a1b", True),
        ("0a1b", "0a1c", False),
    ],
)
def test_equal_in_constant_time_compares_bytes_and_ascii_text(
    a: bytes | str, b: bytes | str, equal: bool
) -> None:
    assert equal_in_constant_time(a, b) is equal  # type: ignore[type-var]  # both of one type per case
