from __future__ import annotations

import pytest

from privacy_service.crypto import FieldContext


def test_a_context_is_a_value_equal_by_its_place() -> None:
    first = FieldContext(table="profiles", column="email", subject_id="s1")
    same = FieldContext(table="profiles", column="email", subject_id="s1")
    other = FieldContext(table="profiles", column="email", subject_id="s2")
    assert first == same
    assert hash(first) == hash(same)
    assert first != other
    assert first != ("profiles", "email", "s1")
    assert repr(first) == "FieldContext(table='profiles', column='email', subject_id='s1')"


def test_a_context_cannot_be_changed_after_it_is_built() -> None:
    context = FieldContext(table="profiles", column="email", subject_id="s1")
    with pytest.raises(AttributeError, match="immutable"):
        context.subject_id = "s2"
    assert context.associated_data.endswith(b"s1")


def test_the_encoding_is_length_prefixed_per_part() -> None:
    context = FieldContext(table="ab", column="c", subject_id="s")
    assert context.associated_data == b"\x00\x00\x00\x02ab\x00\x00\x00\x01c\x00\x00\x00\x01s"


def test_a_row_opens_like_its_fields_one_by_one_as_text() -> None:
    from privacy_service.crypto import DataKey, TextColumns, encrypt_field, generate_data_key

    key = DataKey(key_id="k1", version=1, material=generate_data_key())
    ciphertexts = [
        encrypt_field(
            key=key, plaintext=column.encode(), context=FieldContext(table="t", column=column, subject_id="s")
        )
        for column in ("a", "b")
    ]
    columns = TextColumns("t", ("a", "b", "c"))
    assert columns.open(key=key, subject_id="s", ciphertexts=[*ciphertexts, None]) == ["a", "b", None]


def test_a_row_refuses_swapped_columns_another_subject_and_a_bad_shape() -> None:
    from privacy_service.crypto import (
        DataKey,
        DecryptionFailed,
        TextColumns,
        encrypt_field,
        generate_data_key,
    )

    key = DataKey(key_id="k1", version=1, material=generate_data_key())
    ciphertext = encrypt_field(
        key=key, plaintext=b"x", context=FieldContext(table="t", column="a", subject_id="s")
    )
    assert TextColumns("t", ("a",)).open(key=key, subject_id="s", ciphertexts=[ciphertext]) == ["x"]
    with pytest.raises(DecryptionFailed):
        TextColumns("t", ("b",)).open(key=key, subject_id="s", ciphertexts=[ciphertext])
    with pytest.raises(DecryptionFailed):
        TextColumns("u", ("a",)).open(key=key, subject_id="s", ciphertexts=[ciphertext])
    with pytest.raises(DecryptionFailed):
        TextColumns("t", ("a",)).open(key=key, subject_id="other", ciphertexts=[ciphertext])
    with pytest.raises(ValueError, match="one per column"):
        TextColumns("t", ("a", "b")).open(key=key, subject_id="s", ciphertexts=[ciphertext])
    with pytest.raises(ValueError, match="non-empty"):
        TextColumns("", ("a",))
    with pytest.raises(ValueError, match="non-empty"):
        TextColumns("t", ("a",)).open(key=key, subject_id="", ciphertexts=[ciphertext])


def test_a_row_refuses_every_flipped_bit_and_every_truncation() -> None:
    from privacy_service.crypto import (
        DataKey,
        DecryptionFailed,
        MalformedCiphertext,
        TextColumns,
        encrypt_field,
        generate_data_key,
    )

    key = DataKey(key_id="k1", version=1, material=generate_data_key())
    ciphertext = encrypt_field(
        key=key, plaintext=b"x@y.z", context=FieldContext(table="t", column="a", subject_id="s")
    )
    columns = TextColumns("t", ("a",))
    for bit in range(len(ciphertext) * 8):
        altered = bytearray(ciphertext)
        altered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises((DecryptionFailed, MalformedCiphertext)):
            columns.open(key=key, subject_id="s", ciphertexts=[bytes(altered)])
    for length in range(len(ciphertext)):
        with pytest.raises((DecryptionFailed, MalformedCiphertext)):
            columns.open(key=key, subject_id="s", ciphertexts=[ciphertext[:length]])
