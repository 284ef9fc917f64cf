"""EnvironmentKeys: keys passed in as text, refused with an error that names the key but not its value."""

from __future__ import annotations

import base64

import pytest

from privacy_service.crypto import EnvironmentKeys, InvalidKeyMaterial, encode_key, generate_key

SHORT_KEY = base64.b64encode(b"sixteen byte key").decode()
NOT_BASE64 = "this-is-not-base64!!"


def valid() -> dict[str, str]:
    return {"blind_index_key": encode_key(generate_key()), "pepper_key": encode_key(generate_key())}


def test_the_highest_version_is_current() -> None:
    keys = EnvironmentKeys(keks={3: encode_key(generate_key()), 1: encode_key(generate_key())}, **valid())
    assert keys.current_version() == 3
    assert keys.versions() == (1, 3)


@pytest.mark.parametrize("bad_value", [NOT_BASE64, SHORT_KEY], ids=["not-base64", "16-bytes"])
def test_a_bad_kek_is_refused_naming_its_version_but_not_its_value(bad_value: str) -> None:
    with pytest.raises(InvalidKeyMaterial, match="kek v2") as caught:
        EnvironmentKeys(keks={1: encode_key(generate_key()), 2: bad_value}, **valid())
    assert bad_value not in str(caught.value)


@pytest.mark.parametrize("role", ["blind_index_key", "pepper_key"])
@pytest.mark.parametrize("bad_value", [NOT_BASE64, SHORT_KEY], ids=["not-base64", "16-bytes"])
def test_a_bad_secret_is_refused_naming_its_role_but_not_its_value(role: str, bad_value: str) -> None:
    secrets = valid() | {role: bad_value}
    with pytest.raises(InvalidKeyMaterial, match=role.replace("_", " ")) as caught:
        EnvironmentKeys(keks={1: encode_key(generate_key())}, **secrets)
    assert bad_value not in str(caught.value)


def test_a_short_key_error_says_how_long_it_must_be() -> None:
    with pytest.raises(InvalidKeyMaterial, match="must decode to 32 bytes, got 16"):
        EnvironmentKeys(keks={1: SHORT_KEY}, **valid())


def test_no_kek_at_all_is_refused() -> None:
    with pytest.raises(InvalidKeyMaterial, match="at least one KEK"):
        EnvironmentKeys(keks={}, **valid())


@pytest.mark.parametrize("version", [0, -1, 2**31])
def test_a_kek_version_outside_1_to_2_31_minus_1_is_refused(version: int) -> None:
    with pytest.raises(InvalidKeyMaterial, match="KEK versions must be between"):
        EnvironmentKeys(keks={version: encode_key(generate_key())}, **valid())


def test_one_value_pasted_for_two_roles_is_refused() -> None:
    shared = encode_key(generate_key())
    with pytest.raises(InvalidKeyMaterial, match="must all differ"):
        EnvironmentKeys(keks={1: encode_key(generate_key())}, blind_index_key=shared, pepper_key=shared)


def test_one_value_pasted_for_two_kek_versions_is_refused() -> None:
    shared = encode_key(generate_key())
    with pytest.raises(InvalidKeyMaterial, match="must all differ"):
        EnvironmentKeys(keks={1: shared, 2: shared}, **valid())


def test_values_read_from_secret_files_with_a_trailing_newline_are_accepted() -> None:
    kek = generate_key()
    keys = EnvironmentKeys(keks={1: encode_key(kek) + "\n"}, **valid())
    wrapped = keys.wrap(bytes(32), associated_data=b"s")
    assert keys.unwrap(wrapped, associated_data=b"s") == bytes(32)
