from __future__ import annotations

from privacy_service.crypto import generate_key
from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests, new_opaque_token


def test_tokens_are_long_and_unique() -> None:
    tokens = {new_opaque_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(token) >= 43 for token in tokens)


def test_a_digest_matches_its_token_only() -> None:
    digests = OpaqueTokenDigests(pepper_key=generate_key())
    token = new_opaque_token()
    stored = digests.digest(token, kind="client-secret")
    assert digests.matches(token, stored, kind="client-secret")
    assert not digests.matches(new_opaque_token(), stored, kind="client-secret")


def test_kinds_separate_domains() -> None:
    digests = OpaqueTokenDigests(pepper_key=generate_key())
    token = new_opaque_token()
    assert not digests.matches(token, digests.digest(token, kind="client-secret"), kind="mfa-token")


def test_another_pepper_gives_another_digest() -> None:
    token = new_opaque_token()
    first = OpaqueTokenDigests(pepper_key=generate_key()).digest(token, kind="k")
    second = OpaqueTokenDigests(pepper_key=generate_key()).digest(token, kind="k")
    assert first != second
    assert token.encode() not in first
    assert "hidden" in repr(OpaqueTokenDigests(pepper_key=generate_key()))
