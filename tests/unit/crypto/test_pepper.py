"""Pepper sub-keys: one per purpose, unrelated to each other and to the pepper key itself."""

from __future__ import annotations

import pytest

from privacy_service.crypto import InvalidKeyMaterial, PepperPurpose, pepper_subkey

PEPPER = bytes(range(32))


def test_each_purpose_derives_its_own_stable_256_bit_key() -> None:
    keys = {purpose: pepper_subkey(PEPPER, purpose=purpose) for purpose in PepperPurpose}
    assert len(set(keys.values())) == len(PepperPurpose)
    assert all(len(key) == 32 and key != PEPPER for key in keys.values())
    assert pepper_subkey(PEPPER, purpose=PepperPurpose.PASSWORD_HASH) == keys[PepperPurpose.PASSWORD_HASH]


def test_another_pepper_derives_other_keys() -> None:
    other = bytes(32)
    assert pepper_subkey(other, purpose=PepperPurpose.RECOVERY_CODE) != pepper_subkey(
        PEPPER, purpose=PepperPurpose.RECOVERY_CODE
    )


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_a_pepper_key_must_be_256_bits(length: int) -> None:
    with pytest.raises(InvalidKeyMaterial):
        pepper_subkey(bytes(length), purpose=PepperPurpose.PASSWORD_HASH)


@pytest.mark.parametrize(
    ("purpose", "expected"),
    [
        (PepperPurpose.PASSWORD_HASH, "ddbaf4887165a89bba13d2a35f0c222805b8ae42b6c3b7899087e32f20c1aecf"),
        (PepperPurpose.RECOVERY_CODE, "0b5700fab421d88edc4a9edd86c0cfa0d969f0857cfdba0c49b1c910c4d03201"),
    ],
)
def test_the_derivation_never_changes(purpose: PepperPurpose, expected: str) -> None:
    """Every stored password hash and recovery code depends on these keys: a change locks everyone out."""
    assert pepper_subkey(PEPPER, purpose=purpose).hex() == expected
