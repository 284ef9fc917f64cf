"""JSON Web Signatures (RFC 7515) with Ed25519 keys (RFC 8037), EdDSA and nothing else: the JOSE primitives.

What a signed token *says* (issuer, audience, lifetimes, its type) is for the
caller to judge; this module only makes and checks signatures, and names its
keys. A key's ``kid`` is its RFC 7638 thumbprint, so a public key cannot be
published under another key's name; its private half travels as the 32 raw
bytes of ``d`` (RFC 8037 §2), for a key provider to wrap like any other key.

Verification knows one algorithm, so no header can choose another (RFC 8725
§2.1, §3.1): ``alg: none`` and an HS256 token "signed" with a public key as
its secret are refused before any key is looked at. Each failure raises its
own error, never a boolean: ``JwsAlgorithmNotAllowed``, ``UnknownJwsKey``
(no ``kid``, or one the lookup does not know), ``BadSignature`` and
``MalformedJws``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError, UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import GuestProtocol, OKPKey
from joserfc.jws import JWSRegistry

from privacy_service.crypto.errors import CryptoError, InvalidKeyMaterial
from privacy_service.crypto.signing import BadSignature

#: The one JWS algorithm (RFC 8037 §3.1) this service signs and verifies with.
JWS_ALGORITHM: Final = "EdDSA"
CURVE: Final = "Ed25519"


class JwsAlgorithmNotAllowed(CryptoError):
    """The token's header names an algorithm other than EdDSA (``none`` and HS256 included)."""

    code = "jws_algorithm_not_allowed"
    status = 401
    title = "Algorithm not allowed"


class UnknownJwsKey(CryptoError):
    """The token names no ``kid``, or one that the lookup does not know (now)."""

    code = "unknown_jws_key"
    status = 401
    title = "Unknown signing key"


class MalformedJws(CryptoError):
    """The input is not a compact JWS with a JSON object for its payload."""

    code = "malformed_jws"
    status = 401
    title = "Malformed token"


class _EdDSAOnly(JWSRegistry):
    """A JWS registry that knows one algorithm, so no header can choose another (RFC 8725 §2.1, §3.1).

    joserfc flags ``EdDSA`` as deprecated by RFC 9864 in favour of ``Ed25519``;
    this service keeps ``EdDSA`` because it is what shops' JOSE libraries
    verify today, and resolves it here without the library's warning.
    """

    def get_alg(self, name: str) -> JWSAlgModel:
        if name != JWS_ALGORITHM:
            raise UnsupportedAlgorithmError()
        return self.algorithms[name]


_REGISTRY = _EdDSAOnly()


@dataclass(frozen=True, slots=True)
class JwsPublicKey:
    """A public key that verifies: its ``kid`` and the JWK (RFC 7517) a JWKS publishes, without ``d``."""

    kid: str
    jwk: Mapping[str, Any]
    _key: OKPKey = field(repr=False)


@dataclass(frozen=True, slots=True)
class JwsSigningKey:
    """A private key that signs, named by its ``kid`` (put in every header it signs)."""

    kid: str
    _key: OKPKey = field(repr=False)


@dataclass(frozen=True, slots=True)
class NewJwsKey:
    """A fresh key pair: the public JWK to store and publish, and the private key to wrap at once."""

    kid: str
    public_jwk: Mapping[str, Any]
    private_key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class VerifiedJws:
    """What a token whose signature verified carries: its protected header and its claims (a JSON object)."""

    header: Mapping[str, Any]
    claims: dict[str, Any]


def generate_jws_key() -> NewJwsKey:
    """A fresh Ed25519 key pair for EdDSA signatures, its ``kid`` the RFC 7638 thumbprint."""
    key = OKPKey.generate_key(CURVE, parameters={"use": "sig", "alg": JWS_ALGORITHM}, auto_kid=True)
    kid = key.kid
    assert kid is not None  # auto_kid: the RFC 7638 thumbprint
    return NewJwsKey(
        kid=kid,
        public_jwk=key.as_dict(private=False),
        private_key=_b64decode(str(key.as_dict(private=True)["d"])),
    )


def open_jws_public_key(jwk: object, *, kid: str) -> JwsPublicKey:
    """The public key a stored JWK holds, trusted only under its own thumbprint ``kid``.

    Private members the JWK may hold are dropped. Raises ``InvalidKeyMaterial``
    when ``jwk`` is not an Ed25519 JWK object, names another ``kid``, or
    ``kid`` is not its thumbprint.
    """
    if not isinstance(jwk, Mapping) or jwk.get("kid") != kid:
        raise InvalidKeyMaterial("the public key names another kid")
    public = {name: value for name, value in jwk.items() if name != "d"}
    try:
        key = OKPKey.import_key(public)
        thumbprint = key.thumbprint()
    except (JoseError, ValueError, TypeError):
        raise InvalidKeyMaterial("the public key is not an OKP JWK") from None
    if thumbprint != kid:
        raise InvalidKeyMaterial("the kid is not the thumbprint of the public key")
    return JwsPublicKey(kid=kid, jwk=key.as_dict(private=False), _key=key)


def open_jws_signing_key(public_key: JwsPublicKey, private_key: bytes) -> JwsSigningKey:
    """The signing key made of ``public_key`` and the raw private key ``d`` (32 bytes, RFC 8037 §2)."""
    if len(private_key) != 32:
        raise InvalidKeyMaterial("an Ed25519 private key must be 32 bytes")
    key = OKPKey.import_key({**public_key.jwk, "d": _b64encode(private_key)})
    return JwsSigningKey(kid=public_key.kid, _key=key)


def sign_jws(*, key: JwsSigningKey, token_type: str, claims: Mapping[str, Any]) -> str:
    """The compact JWS of ``claims`` (as JSON) under the header ``{"alg": "EdDSA", "kid", "typ"}``."""
    header = {"alg": JWS_ALGORITHM, "kid": key.kid, "typ": token_type}
    return jwt.encode(header, dict(claims), key._key, registry=_REGISTRY)


def verify_jws(token: str, *, key_for: Callable[[str], JwsPublicKey | None]) -> VerifiedJws:
    """Check the signature of a compact JWS with the key ``key_for`` returns for its ``kid``.

    The algorithm is checked before the key is looked up. Raises
    ``JwsAlgorithmNotAllowed``, ``UnknownJwsKey`` (``key_for`` returned None),
    ``BadSignature`` or ``MalformedJws``.
    """

    def verification_key(guest: GuestProtocol) -> OKPKey:
        kid = guest.headers().get("kid")
        public_key = key_for(kid) if isinstance(kid, str) else None
        if public_key is None:
            raise UnknownJwsKey()
        return public_key._key

    try:
        decoded = jwt.decode(token, verification_key, registry=_REGISTRY)
    except UnsupportedAlgorithmError:
        raise JwsAlgorithmNotAllowed() from None
    except BadSignatureError:
        raise BadSignature() from None
    except JoseError:
        raise MalformedJws() from None
    return VerifiedJws(header=decoded.header, claims=decoded.claims)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
