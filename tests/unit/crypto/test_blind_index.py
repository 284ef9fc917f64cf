"""Blind index: one digest per value however it is spelled, unlinkable across keys and purposes."""

from __future__ import annotations

import pytest

from privacy_service.crypto import BlindIndex, InvalidKeyMaterial, generate_key

KEY = bytes(range(32))


@pytest.mark.parametrize(
    "variant",
    [
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
        " Alice@Example.COM ",
        "\t alice@example.com\n",
        "\uff21lice@Example.COM ",  # fullwidth A, folded by NFKC
        "\u3000alice@example.com\u00a0",  # ideographic space and no-break space trimmed
    ],
)
def test_spelling_variants_of_one_email_share_a_digest(variant: str) -> None:
    index = BlindIndex(key=KEY, purpose="email")
    assert index.digest(variant) == index.digest("alice@example.com")


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("\ufb01ona@example.com", "fiona@example.com"),  # "fi" ligature, NFKC
        ("STRASSE", "straße"),  # full case folding: ß folds to ss
        ("cafe\u0301", "caf\u00e9"),  # combining accent composes
    ],
)
def test_unicode_compatibility_and_case_variants_normalise_alike(variant: str, canonical: str) -> None:
    assert BlindIndex.normalise(variant) == BlindIndex.normalise(canonical)


def test_different_values_give_different_digests() -> None:
    index = BlindIndex(key=KEY, purpose="email")
    assert index.digest("alice@example.com") != index.digest("alice@example.org")


def test_the_same_value_under_different_keys_gives_unrelated_digests() -> None:
    first = BlindIndex(key=generate_key(), purpose="email")
    second = BlindIndex(key=generate_key(), purpose="email")
    assert first.digest("alice@example.com") != second.digest("alice@example.com")


def test_the_same_value_indexed_for_two_purposes_gives_unrelated_digests() -> None:
    as_email = BlindIndex(key=KEY, purpose="email")
    as_phone = BlindIndex(key=KEY, purpose="phone")
    assert as_email.digest("+4930123456") != as_phone.digest("+4930123456")


def test_the_purpose_and_value_boundary_cannot_shift() -> None:
    assert BlindIndex(key=KEY, purpose="ab").digest("c") != BlindIndex(key=KEY, purpose="a").digest("bc")


def test_the_email_digest_is_stable_across_releases() -> None:
    # Stored indexes depend on this exact value: changing the scheme orphans every lookup.
    digest = BlindIndex(key=KEY, purpose="email").digest("Alice@Example.com")
    assert digest.hex() == "452c128933c5ead918038062c4c0f60129ebcafb6b0f29830c4e0d5dab890f6c"


def test_a_digest_is_32_bytes_and_repeatable() -> None:
    index = BlindIndex(key=KEY, purpose="email")
    assert len(index.digest("alice@example.com")) == 32
    assert index.digest("alice@example.com") == index.digest("alice@example.com")


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_a_key_that_is_not_256_bit_is_refused(size: int) -> None:
    with pytest.raises(InvalidKeyMaterial):
        BlindIndex(key=bytes(size), purpose="email")


def test_an_empty_purpose_is_refused() -> None:
    with pytest.raises(ValueError, match="purpose"):
        BlindIndex(key=KEY, purpose="")


def test_the_repr_names_the_purpose_and_not_the_key() -> None:
    text = repr(BlindIndex(key=KEY, purpose="email"))
    assert "email" in text
    assert KEY.hex() not in text
    assert repr(KEY) not in text
