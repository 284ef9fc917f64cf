"""Key material: strict base64 decoding that names the role, never the value."""

from __future__ import annotations

import base64

import pytest

from privacy_service.crypto import (
    InvalidKeyMaterial,
    decode_key,
    encode_key,
    generate_key,
    generate_key_material,
)


def test_an_encoded_key_decodes_to_the_same_bytes() -> None:
    key = generate_key()
    assert decode_key(encoded=encode_key(key), role="kek v1") == key


def test_surrounding_whitespace_such_as_a_trailing_newline_is_ignored() -> None:
    key = generate_key()
    assert decode_key(encoded=f"  {encode_key(key)}\n", role="kek v1") == key


@pytest.mark.parametrize(
    "encoded",
    ["not base64!", "QUJD", "QUJDRA", "é" * 44, base64.b64encode(bytes(32)).decode()[:-1] + "*"],
    ids=["bad-alphabet", "too-short", "bad-padding", "non-ascii", "bad-last-char"],
)
def test_anything_but_base64_of_32_bytes_is_refused_naming_the_role_only(encoded: str) -> None:
    with pytest.raises(InvalidKeyMaterial, match="blind index key") as caught:
        decode_key(encoded=encoded, role="blind index key")
    assert encoded not in str(caught.value)


def test_generated_material_has_one_distinct_decodable_key_per_role() -> None:
    material = generate_key_material()
    assert set(material) == {"kek", "blind_index_key", "pepper_key"}
    keys = [decode_key(encoded=value, role=role) for role, value in material.items()]
    assert len(set(keys)) == 3
