"""One conformance suite for every KeyProvider: the local key file and the environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from privacy_service.crypto import (
    DecryptionFailed,
    EnvironmentKeys,
    InvalidKeyMaterial,
    KeyProvider,
    LocalKeyFile,
    MalformedCiphertext,
    UnknownKeyVersion,
    WrappedKey,
    encode_key,
    generate_data_key,
    generate_key,
)

SUBJECT = b"subject-1"


def two_version_environment() -> EnvironmentKeys:
    return EnvironmentKeys(
        keks={1: encode_key(generate_key()), 2: encode_key(generate_key())},
        blind_index_key=encode_key(generate_key()),
        pepper_key=encode_key(generate_key()),
    )


def two_version_key_file(tmp_path: Path) -> LocalKeyFile:
    provider = LocalKeyFile.open_or_create(tmp_path / "keys.json")
    provider.add_version()
    return provider


@pytest.fixture(params=["local_key_file", "environment_keys"])
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyProvider]:
    if request.param == "local_key_file":
        yield two_version_key_file(tmp_path)
    else:
        yield two_version_environment()


def test_a_wrapped_data_key_unwraps_to_the_same_key(provider: KeyProvider) -> None:
    data_key = generate_data_key()
    wrapped = provider.wrap(data_key, associated_data=SUBJECT)
    assert provider.unwrap(wrapped, associated_data=SUBJECT) == data_key
    assert data_key not in wrapped.blob


def test_wrapping_always_uses_the_current_version(provider: KeyProvider) -> None:
    assert provider.current_version() == 2
    assert provider.versions() == (1, 2)
    assert provider.wrap(generate_data_key(), associated_data=SUBJECT).kek_version == 2


def test_wrapping_the_same_key_twice_gives_different_blobs(provider: KeyProvider) -> None:
    data_key = generate_data_key()
    first = provider.wrap(data_key, associated_data=SUBJECT)
    second = provider.wrap(data_key, associated_data=SUBJECT)
    assert first.blob != second.blob


def test_a_wrapped_key_moved_to_another_subject_does_not_unwrap(provider: KeyProvider) -> None:
    wrapped = provider.wrap(generate_data_key(), associated_data=SUBJECT)
    with pytest.raises(DecryptionFailed):
        provider.unwrap(wrapped, associated_data=b"subject-2")


def test_a_wrapped_key_relabelled_with_another_version_does_not_unwrap(provider: KeyProvider) -> None:
    wrapped = provider.wrap(generate_data_key(), associated_data=SUBJECT)
    with pytest.raises(DecryptionFailed):
        provider.unwrap(WrappedKey(kek_version=1, blob=wrapped.blob), associated_data=SUBJECT)


def test_every_altered_byte_of_a_wrapped_key_is_refused(provider: KeyProvider) -> None:
    wrapped = provider.wrap(generate_data_key(), associated_data=SUBJECT)
    for position in range(len(wrapped.blob)):
        altered = bytearray(wrapped.blob)
        altered[position] ^= 0x01
        with pytest.raises(DecryptionFailed):
            provider.unwrap(WrappedKey(kek_version=2, blob=bytes(altered)), associated_data=SUBJECT)


@pytest.mark.parametrize("size", [0, 59, 61])
def test_a_wrapped_key_of_the_wrong_size_is_malformed(provider: KeyProvider, size: int) -> None:
    with pytest.raises(MalformedCiphertext):
        provider.unwrap(WrappedKey(kek_version=2, blob=bytes(size)), associated_data=SUBJECT)


@pytest.mark.parametrize("version", [0, 3, 99])
def test_unwrapping_under_a_version_not_held_raises_unknown_key_version(
    provider: KeyProvider, version: int
) -> None:
    wrapped = provider.wrap(generate_data_key(), associated_data=SUBJECT)
    with pytest.raises(UnknownKeyVersion):
        provider.unwrap(WrappedKey(kek_version=version, blob=wrapped.blob), associated_data=SUBJECT)


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_only_256_bit_data_keys_are_wrapped(provider: KeyProvider, size: int) -> None:
    with pytest.raises(InvalidKeyMaterial):
        provider.wrap(bytes(size), associated_data=SUBJECT)


def test_the_blind_index_and_pepper_keys_are_distinct_256_bit_secrets(provider: KeyProvider) -> None:
    assert len(provider.blind_index_key()) == 32
    assert len(provider.pepper_key()) == 32
    assert provider.blind_index_key() != provider.pepper_key()


def test_the_repr_shows_versions_but_no_key_material(provider: KeyProvider) -> None:
    text = repr(provider)
    assert "(1, 2)" in text
    for secret in (provider.blind_index_key(), provider.pepper_key()):
        assert secret.hex() not in text
        assert encode_key(secret) not in text
