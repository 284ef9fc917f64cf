"""Field encryption: round trips, binding to table/column/subject, and refusal of every alteration."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_service.crypto import (
    CryptoError,
    DataKey,
    DecryptionFailed,
    FieldContext,
    FieldHeader,
    InvalidKeyMaterial,
    MalformedCiphertext,
    decrypt_field,
    decrypt_field_with_lookup,
    encrypt_field,
    generate_data_key,
    parse_header,
)

CONTEXT = FieldContext(table="profiles", column="email", subject_id="subject-1")

# McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test case 16:
# AES-256, 96-bit IV, with associated data (also in NIST's gcmEncryptExtIV256 set).
GCM_KEY = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
GCM_IV = bytes.fromhex("cafebabefacedbaddecaf888")
GCM_PLAINTEXT = bytes.fromhex(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
)
GCM_AAD = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
GCM_CIPHERTEXT = bytes.fromhex(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
)
GCM_TAG = bytes.fromhex("76fc6ece0f4e1768cddf8853bb2d551b")

# Format 1 of "alice@example.com" under GCM_KEY as key "subject-key-1" v7 with
# nonce GCM_IV, for profiles/email/subject-42. Stored ciphertexts depend on this
# layout: if this test fails, existing data no longer decrypts.
GOLDEN_CIPHERTEXT = bytes.fromhex(
    "01"  # format
    "0d" + b"subject-key-1".hex() + "00000007"  # key id length, key id, key version
    "cafebabefacedbaddecaf888"  # nonce
    "ea709ab604921e9a304b4e0ae05f07888f"  # AES-256-GCM ciphertext of the 17-byte plaintext
    "86348a2f8477a4e8225ffae384c60aaf"  # tag
)


def make_key(key_id: str = "subject-key-1", version: int = 1) -> DataKey:
    return DataKey(key_id=key_id, version=version, material=generate_data_key())


class DictLookup:
    def __init__(self, *keys: DataKey) -> None:
        self.keys = {(key.key_id, key.version): key for key in keys}

    def data_key(self, *, key_id: str, version: int) -> DataKey:
        return self.keys[(key_id, version)]


def test_aes_256_gcm_primitive_matches_the_published_vector() -> None:
    ciphertext = AESGCM(GCM_KEY).encrypt(GCM_IV, GCM_PLAINTEXT, GCM_AAD)
    assert ciphertext == GCM_CIPHERTEXT + GCM_TAG


def test_the_golden_ciphertext_still_decrypts_so_stored_data_stays_readable() -> None:
    key = DataKey(key_id="subject-key-1", version=7, material=GCM_KEY)
    context = FieldContext(table="profiles", column="email", subject_id="subject-42")
    assert decrypt_field(key=key, ciphertext=GOLDEN_CIPHERTEXT, context=context) == b"alice@example.com"


def test_encryption_produces_the_documented_layout_byte_for_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "urandom", lambda size: GCM_IV[:size])
    key = DataKey(key_id="subject-key-1", version=7, material=GCM_KEY)
    context = FieldContext(table="profiles", column="email", subject_id="subject-42")
    assert encrypt_field(key=key, plaintext=b"alice@example.com", context=context) == GOLDEN_CIPHERTEXT


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"alice@example.com", "Zoë Ångström, 東京都, 🙂".encode(), bytes(range(256)) * 40],
    ids=["empty", "ascii", "non-ascii", "10-kib-binary"],
)
def test_a_field_decrypts_to_exactly_what_was_encrypted(plaintext: bytes) -> None:
    key = make_key()
    ciphertext = encrypt_field(key=key, plaintext=plaintext, context=CONTEXT)
    assert decrypt_field(key=key, ciphertext=ciphertext, context=CONTEXT) == plaintext


def test_the_ciphertext_is_header_nonce_and_encrypted_plaintext_only() -> None:
    key = make_key()
    ciphertext = encrypt_field(key=key, plaintext=b"alice@example.com", context=CONTEXT)
    assert len(ciphertext) == len(key.header) + 12 + len(b"alice@example.com") + 16
    assert b"alice" not in ciphertext


def test_two_encryptions_of_the_same_value_differ_because_nonces_are_random() -> None:
    key = make_key()
    first = encrypt_field(key=key, plaintext=b"alice@example.com", context=CONTEXT)
    second = encrypt_field(key=key, plaintext=b"alice@example.com", context=CONTEXT)
    assert first != second
    nonce = slice(len(key.header), len(key.header) + 12)
    assert first[nonce] != second[nonce]


@pytest.mark.parametrize(
    "other_context",
    [
        FieldContext(table="orders", column="email", subject_id="subject-1"),
        FieldContext(table="profiles", column="phone", subject_id="subject-1"),
        FieldContext(table="profiles", column="email", subject_id="subject-2"),
    ],
    ids=["other-table", "other-column", "other-subject"],
)
def test_a_ciphertext_presented_for_another_table_column_or_subject_is_refused(
    other_context: FieldContext,
) -> None:
    key = make_key()
    ciphertext = encrypt_field(key=key, plaintext=b"alice@example.com", context=CONTEXT)
    with pytest.raises(DecryptionFailed):
        decrypt_field(key=key, ciphertext=ciphertext, context=other_context)


def test_a_ciphertext_copied_to_another_subjects_row_is_refused_with_that_subjects_key() -> None:
    alice_key, bob_key = make_key("alice-key"), make_key("bob-key")
    alice_email = encrypt_field(key=alice_key, plaintext=b"alice@example.com", context=CONTEXT)
    bob_context = FieldContext(table="profiles", column="email", subject_id="subject-2")
    with pytest.raises(DecryptionFailed):
        decrypt_field_with_lookup(
            keys=DictLookup(alice_key, bob_key), ciphertext=alice_email, context=bob_context
        )
    with pytest.raises(DecryptionFailed):
        decrypt_field(key=bob_key, ciphertext=alice_email, context=bob_context)


def test_a_key_with_the_same_id_and_version_but_other_material_is_refused() -> None:
    ciphertext = encrypt_field(key=make_key(), plaintext=b"alice@example.com", context=CONTEXT)
    with pytest.raises(DecryptionFailed):
        decrypt_field(key=make_key(), ciphertext=ciphertext, context=CONTEXT)


def test_every_single_flipped_bit_anywhere_in_the_ciphertext_is_refused() -> None:
    key = make_key("k")
    ciphertext = encrypt_field(key=key, plaintext=b"a@b.c", context=CONTEXT)
    for bit in range(len(ciphertext) * 8):
        altered = bytearray(ciphertext)
        altered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises((DecryptionFailed, MalformedCiphertext)):
            decrypt_field(key=key, ciphertext=bytes(altered), context=CONTEXT)


def test_every_truncation_is_refused_as_malformed_or_undecryptable_and_nothing_else() -> None:
    key = make_key()
    ciphertext = encrypt_field(key=key, plaintext=b"alice@example.com", context=CONTEXT)
    for length in range(len(ciphertext)):
        with pytest.raises((MalformedCiphertext, DecryptionFailed)):
            decrypt_field(key=key, ciphertext=ciphertext[:length], context=CONTEXT)
        with pytest.raises((MalformedCiphertext, DecryptionFailed)):
            decrypt_field_with_lookup(keys=DictLookup(key), ciphertext=ciphertext[:length], context=CONTEXT)


def test_a_ciphertext_cut_short_inside_its_tag_is_malformed() -> None:
    key = make_key()
    ciphertext = encrypt_field(key=key, plaintext=b"", context=CONTEXT)
    with pytest.raises(MalformedCiphertext, match="truncated"):
        decrypt_field(key=key, ciphertext=ciphertext[:-1], context=CONTEXT)


def test_a_header_rewritten_to_name_another_version_is_refused_even_by_that_versions_key() -> None:
    material = generate_data_key()
    version_1 = DataKey(key_id="k", version=1, material=material)
    version_2 = DataKey(key_id="k", version=2, material=material)
    ciphertext = encrypt_field(key=version_1, plaintext=b"alice@example.com", context=CONTEXT)
    relabelled = version_2.header + ciphertext[len(version_1.header) :]
    # Same key material, only the header differs: the tag still fails because
    # the header is part of the associated data.
    with pytest.raises(DecryptionFailed):
        decrypt_field(key=version_2, ciphertext=relabelled, context=CONTEXT)


def test_a_ciphertext_naming_another_key_is_refused_without_trying_it() -> None:
    ciphertext = encrypt_field(key=make_key("alice-key"), plaintext=b"x", context=CONTEXT)
    with pytest.raises(DecryptionFailed, match="another data key"):
        decrypt_field(key=make_key("bob-key"), ciphertext=ciphertext, context=CONTEXT)


@pytest.mark.parametrize("format_byte", [0x00, 0x02, 0xFF])
def test_an_unknown_format_version_is_refused_as_malformed(format_byte: int) -> None:
    key = make_key()
    ciphertext = encrypt_field(key=key, plaintext=b"alice@example.com", context=CONTEXT)
    with pytest.raises(MalformedCiphertext, match="unknown ciphertext format"):
        decrypt_field(key=key, ciphertext=bytes([format_byte]) + ciphertext[1:], context=CONTEXT)


def test_the_header_names_the_key_to_load() -> None:
    key = make_key("subject-7f3a", version=3)
    ciphertext = encrypt_field(key=key, plaintext=b"alice@example.com", context=CONTEXT)
    assert parse_header(ciphertext) == FieldHeader(key_id="subject-7f3a", version=3)


def test_decrypting_with_a_lookup_loads_the_key_the_ciphertext_names() -> None:
    old, new = make_key("k", version=1), make_key("k", version=2)
    ciphertext = encrypt_field(key=old, plaintext=b"alice@example.com", context=CONTEXT)
    lookup = DictLookup(old, new)
    assert (
        decrypt_field_with_lookup(keys=lookup, ciphertext=ciphertext, context=CONTEXT) == b"alice@example.com"
    )


def test_a_non_ascii_key_id_round_trips_through_the_header() -> None:
    key = make_key("clé-sujet")
    ciphertext = encrypt_field(key=key, plaintext=b"x", context=CONTEXT)
    assert parse_header(ciphertext).key_id == "clé-sujet"
    assert decrypt_field(key=key, ciphertext=ciphertext, context=CONTEXT) == b"x"


VALID_TAIL = bytes(12 + 16)


@pytest.mark.parametrize(
    ("ciphertext", "reason"),
    [
        (b"", "empty"),
        (b"\x01", "no key id"),
        (b"\x01\x00" + b"\x00\x00\x00\x01" + VALID_TAIL, "no key id"),
        (b"\x01\x01k\x00\x00\x00\x01" + VALID_TAIL[:-1], "truncated"),
        (b"\x01\x01k\x00\x00\x00\x00" + VALID_TAIL, "invalid key version"),
        (b"\x01\x01k\x80\x00\x00\x00" + VALID_TAIL, "invalid key version"),
        (b"\x01\x01\xff\x00\x00\x00\x01" + VALID_TAIL, "invalid key id"),
    ],
    ids=[
        "empty",
        "format-only",
        "zero-length-key-id",
        "short-body",
        "version-0",
        "version-2**31",
        "bad-utf8",
    ],
)
def test_parse_header_refuses_a_malformed_header(ciphertext: bytes, reason: str) -> None:
    with pytest.raises(MalformedCiphertext, match=reason):
        parse_header(ciphertext)


def test_the_context_encoding_is_unambiguous_across_part_boundaries() -> None:
    first = FieldContext(table="ab", column="c", subject_id="s")
    second = FieldContext(table="a", column="bc", subject_id="s")
    assert first.associated_data != second.associated_data
    key = make_key()
    ciphertext = encrypt_field(key=key, plaintext=b"x", context=first)
    with pytest.raises(DecryptionFailed):
        decrypt_field(key=key, ciphertext=ciphertext, context=second)


@pytest.mark.parametrize(
    ("table", "column", "subject_id"), [("", "email", "s"), ("profiles", "", "s"), ("profiles", "email", "")]
)
def test_a_context_with_an_empty_part_is_refused(table: str, column: str, subject_id: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        FieldContext(table=table, column=column, subject_id=subject_id)


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_a_data_key_of_the_wrong_size_is_refused(size: int) -> None:
    with pytest.raises(InvalidKeyMaterial):
        DataKey(key_id="k", version=1, material=bytes(size))


@pytest.mark.parametrize("key_id", ["", "k" * 256, "é" * 128])
def test_a_key_id_that_does_not_fit_the_header_is_refused(key_id: str) -> None:
    with pytest.raises(ValueError, match="key id"):
        DataKey(key_id=key_id, version=1, material=generate_data_key())


@pytest.mark.parametrize("version", [0, -1, 2**31])
def test_a_key_version_outside_1_to_2_31_minus_1_is_refused(version: int) -> None:
    with pytest.raises(ValueError, match="key version"):
        DataKey(key_id="k", version=version, material=generate_data_key())


def test_a_data_key_never_shows_its_material_in_repr() -> None:
    material = generate_data_key()
    key = DataKey(key_id="k", version=1, material=material)
    assert material.hex() not in repr(key)
    assert repr(material) not in repr(key)
    assert "k" in repr(key)


def test_generated_data_keys_are_256_bit_and_distinct() -> None:
    keys = {generate_data_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(key) == 32 for key in keys)


def test_a_failed_decryption_hides_the_library_exception_and_the_plaintext() -> None:
    key = make_key()
    ciphertext = encrypt_field(key=key, plaintext=b"alice@example.com", context=CONTEXT)
    other = FieldContext(table="profiles", column="email", subject_id="subject-2")
    with pytest.raises(DecryptionFailed) as caught:
        decrypt_field(key=key, ciphertext=ciphertext, context=other)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert isinstance(caught.value, CryptoError)
    assert "alice" not in str(caught.value)
    assert caught.value.code == "decryption_failed"
