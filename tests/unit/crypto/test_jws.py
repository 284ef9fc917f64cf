"""JSON Web Signatures: EdDSA keys named by their thumbprint, and each way a compact JWS fails to verify."""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, OctKey, OKPKey
from joserfc.jws import JWSRegistry

from privacy_service.crypto import (
    JWS_ALGORITHM,
    BadSignature,
    InvalidKeyMaterial,
    JwsAlgorithmNotAllowed,
    JwsPublicKey,
    JwsSigningKey,
    MalformedJws,
    UnknownJwsKey,
    generate_jws_key,
    open_jws_public_key,
    open_jws_signing_key,
    sign_jws,
    verify_jws,
)

CLAIMS = {"sub": "01juser0000000000000000001", "n": 1}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: object, signature: bytes = b"\x00" * 64) -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)])


def key_pair() -> tuple[JwsPublicKey, JwsSigningKey]:
    new = generate_jws_key()
    public = open_jws_public_key(new.public_jwk, kid=new.kid)
    return public, open_jws_signing_key(public, new.private_key)


def only(public: JwsPublicKey) -> Any:
    return lambda kid: public if kid == public.kid else None


def test_a_new_key_is_named_by_its_thumbprint_and_publishes_no_private_member() -> None:
    new = generate_jws_key()
    assert OKPKey.import_key(dict(new.public_jwk)).thumbprint() == new.kid
    assert new.public_jwk["kid"] == new.kid
    assert (new.public_jwk["kty"], new.public_jwk["crv"], new.public_jwk["alg"]) == (
        "OKP",
        "Ed25519",
        "EdDSA",
    )
    assert "d" not in new.public_jwk
    assert len(new.private_key) == 32
    assert repr(new.private_key) not in repr(new)


def test_a_signed_token_verifies_and_says_what_was_signed() -> None:
    public, signing = key_pair()
    token = sign_jws(key=signing, token_type="at+jwt", claims=CLAIMS)
    verified = verify_jws(token, key_for=only(public))
    assert verified.claims == CLAIMS
    assert verified.header == {"alg": JWS_ALGORITHM, "kid": public.kid, "typ": "at+jwt"}


def test_a_stock_jose_library_verifies_with_the_published_jwk() -> None:
    public, signing = key_pair()
    token = sign_jws(key=signing, token_type="at+jwt", claims=CLAIMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # joserfc notes RFC 9864 deprecates the "EdDSA" name
        decoded = jwt.decode(token, KeySet.import_key_set({"keys": [dict(public.jwk)]}), algorithms=["EdDSA"])
    assert decoded.claims == CLAIMS


def test_a_stored_jwk_loses_a_private_member_it_should_not_hold() -> None:
    new = generate_jws_key()
    stored = {**new.public_jwk, "d": b64(new.private_key)}
    assert "d" not in open_jws_public_key(stored, kid=new.kid).jwk


@pytest.mark.parametrize(
    "jwk",
    [
        None,
        ["not", "an", "object"],
        {"kty": "OKP"},  # names no kid
        {"kid": "another"},
    ],
)
def test_a_jwk_that_names_another_kid_is_not_trusted(jwk: object) -> None:
    with pytest.raises(InvalidKeyMaterial, match="another kid"):
        open_jws_public_key(jwk, kid="kid-1")


@pytest.mark.parametrize(
    "jwk",
    [
        {"kid": "kid-1", "kty": "OKP", "crv": "Ed25519"},  # no public key
        {"kid": "kid-1", "kty": "OKP", "crv": "Ed25519", "x": "!!"},
        {"kid": "kid-1", "kty": "RSA", "n": "AQAB", "e": "AQAB"},
    ],
)
def test_a_jwk_that_is_no_okp_key_is_not_trusted(jwk: dict[str, Any]) -> None:
    with pytest.raises(InvalidKeyMaterial, match="not an OKP JWK"):
        open_jws_public_key(jwk, kid="kid-1")


def test_a_kid_that_is_not_the_thumbprint_of_the_key_is_not_trusted() -> None:
    new, other = generate_jws_key(), generate_jws_key()
    with pytest.raises(InvalidKeyMaterial, match="thumbprint"):
        open_jws_public_key({**new.public_jwk, "kid": other.kid}, kid=other.kid)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_a_private_key_must_be_32_bytes(size: int) -> None:
    public, _ = key_pair()
    with pytest.raises(InvalidKeyMaterial, match="32 bytes"):
        open_jws_signing_key(public, bytes(size))


def test_the_signing_key_never_shows_in_a_repr() -> None:
    new = generate_jws_key()
    public = open_jws_public_key(new.public_jwk, kid=new.kid)
    signing = open_jws_signing_key(public, new.private_key)
    assert repr(signing) == f"JwsSigningKey(kid={new.kid!r})"
    assert b64(new.private_key) not in repr(signing) + repr(public)


def test_a_token_signed_by_another_key_under_a_known_kid_has_a_bad_signature() -> None:
    public, _ = key_pair()
    _, other = key_pair()
    borrowed = JwsSigningKey(kid=public.kid, _key=other._key)
    with pytest.raises(BadSignature):
        verify_jws(sign_jws(key=borrowed, token_type="JWT", claims=CLAIMS), key_for=only(public))


def test_a_tampered_payload_has_a_bad_signature() -> None:
    public, signing = key_pair()
    header, _, signature = sign_jws(key=signing, token_type="JWT", claims=CLAIMS).split(".")
    tampered = f"{header}.{b64(json.dumps({**CLAIMS, 'n': 2}).encode())}.{signature}"
    with pytest.raises(BadSignature):
        verify_jws(tampered, key_for=only(public))


def test_a_kid_the_lookup_does_not_know_is_an_unknown_key() -> None:
    public, signing = key_pair()
    token = sign_jws(key=signing, token_type="JWT", claims=CLAIMS)
    asked: list[str] = []

    def nobody(kid: str) -> JwsPublicKey | None:
        asked.append(kid)
        return None

    with pytest.raises(UnknownJwsKey):
        verify_jws(token, key_for=nobody)
    assert asked == [public.kid]


def never(kid: str) -> JwsPublicKey | None:
    raise AssertionError("looked up")


def test_a_token_without_a_kid_is_an_unknown_key_and_nothing_is_looked_up() -> None:
    with pytest.raises(UnknownJwsKey):
        verify_jws(compact({"alg": "EdDSA", "typ": "JWT"}, CLAIMS), key_for=never)


@pytest.mark.parametrize("kid", [7, ["kid-1"], None])
def test_a_kid_that_is_not_a_string_is_malformed_and_nothing_is_looked_up(kid: object) -> None:
    with pytest.raises(MalformedJws):
        verify_jws(compact({"alg": "EdDSA", "kid": kid}, CLAIMS), key_for=never)


def test_alg_none_is_refused_before_any_key_is_looked_at() -> None:
    with pytest.raises(JwsAlgorithmNotAllowed):
        verify_jws(compact({"alg": "none", "kid": "kid-1"}, CLAIMS, b""), key_for=never)


def test_an_hs256_token_with_the_public_key_as_its_secret_is_refused() -> None:
    public, _ = key_pair()
    secret = OctKey.import_key(json.dumps(dict(public.jwk)).encode())
    forged = jwt.encode({"alg": "HS256", "kid": public.kid}, CLAIMS, secret, registry=JWSRegistry())
    with pytest.raises(JwsAlgorithmNotAllowed):
        verify_jws(forged, key_for=only(public))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b",
        "a.b.c.d",
        "!!!.@@@.###",
    ],
)
def test_what_is_not_a_compact_jws_is_malformed(token: str) -> None:
    public, _ = key_pair()
    with pytest.raises(MalformedJws):
        verify_jws(token, key_for=only(public))


def test_a_signed_payload_that_is_not_a_json_object_is_malformed() -> None:
    public, signing = key_pair()
    header, _, _ = sign_jws(key=signing, token_type="JWT", claims=CLAIMS).split(".")
    payload = b64(b"[1, 2]")
    private_key = signing._key.get_op_key("sign")
    assert isinstance(private_key, Ed25519PrivateKey)
    signature = private_key.sign(f"{header}.{payload}".encode())
    with pytest.raises(MalformedJws):
        verify_jws(f"{header}.{payload}.{b64(signature)}", key_for=only(public))
