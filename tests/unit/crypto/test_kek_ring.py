"""KekRing: the checks every in-process provider relies on, reached directly."""

from __future__ import annotations

import pytest

from privacy_service.crypto import InvalidKeyMaterial, generate_key
from privacy_service.crypto.kek import KekRing


def test_a_ring_whose_current_version_is_missing_is_refused() -> None:
    with pytest.raises(InvalidKeyMaterial, match="current KEK version 2"):
        KekRing(
            keks={1: generate_key()},
            current_version=2,
            blind_index_key=generate_key(),
            pepper_key=generate_key(),
        )


@pytest.mark.parametrize("role", ["kek", "blind_index_key", "pepper_key"])
def test_a_ring_with_a_key_that_is_not_256_bit_is_refused(role: str) -> None:
    keys = {"kek": generate_key(), "blind_index_key": generate_key(), "pepper_key": generate_key()}
    keys[role] = bytes(16)
    with pytest.raises(InvalidKeyMaterial, match="32 bytes"):
        KekRing(
            keks={1: keys["kek"]},
            current_version=1,
            blind_index_key=keys["blind_index_key"],
            pepper_key=keys["pepper_key"],
        )
