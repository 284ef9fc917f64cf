"""Bearer access tokens at the API: expired, forged and foreign tokens are refused (RFC 6750, RFC 8725)."""

from __future__ import annotations

import json
import warnings
from datetime import timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import OctKey, OKPKey
from joserfc.jws import JWSRegistry
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core.clock import FrozenClock
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.models import Client
from privacy_service.identity.tokens import TokenIssuer
from privacy_service.keys.service import Keyring
from tests.functional.conftest import (
    Api,
    Customer,
    MakeCustomer,
    Shop,
    UserTokens,
    assert_problem,
    b64url,
    bearer,
    unverified_parts,
)


@pytest.fixture
def user(api: Api, customer: Customer) -> UserTokens:
    return api.tokens(customer.email, customer.password)


def assert_invalid_token(response: httpx.Response, *, because: str | None = None) -> None:
    """A 401 ``invalid_token`` with the RFC 6750 §3 challenge; ``because`` is the check that failed."""
    body = assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    if because is not None:
        assert body["detail"] == because


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        (b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), b64url(signature))
    )


def test_a_live_access_token_is_honoured(api: Api, user: UserTokens) -> None:
    assert api.profile_status(user) == 200


def test_an_expired_access_token_is_a_401_invalid_token(
    api: Api, user: UserTokens, clock: FrozenClock, credentials: Credentials
) -> None:
    clock.advance(
        timedelta(seconds=credentials.tokens.access_token_seconds + credentials.tokens.leeway_seconds + 1)
    )

    assert_invalid_token(api.http.get("/v1/me/profile", headers=user.headers), because="token expired")


def test_an_expired_client_token_is_a_401_invalid_token(
    api: Api, customer: Customer, vault_shop: Shop, clock: FrozenClock, credentials: Credentials
) -> None:
    stale = vault_shop.access_token
    clock.advance(
        timedelta(seconds=credentials.tokens.access_token_seconds + credentials.tokens.leeway_seconds + 1)
    )

    assert_invalid_token(api.http.get(f"/v1/subjects/{customer.id}/profile", headers=bearer(stale)))


def test_a_disabled_clients_token_is_a_401_invalid_token(
    api: Api, customer: Customer, vault_shop: Shop, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    token = vault_shop.access_token  # issued while the client was enabled
    with sessions.begin() as session:
        session.execute(
            update(Client).where(Client.id == vault_shop.client_id).values(disabled_at=clock.now())
        )

    # How long a process that found a client enabled keeps taking it so: tests/unit/identity/test_clients.py.
    assert_invalid_token(
        api.http.get(f"/v1/subjects/{customer.id}/profile", headers=bearer(token)),
        because="The client this token was issued to is disabled.",
    )


def test_an_alg_none_token_is_refused(api: Api, user: UserTokens) -> None:
    header, claims = unverified_parts(user.access_token)

    forged = compact({**header, "alg": "none"}, claims)

    assert_invalid_token(
        api.http.get("/v1/me/profile", headers=bearer(forged)), because="algorithm not allowed"
    )


def test_a_token_signed_by_another_key_under_our_kid_is_refused(api: Api, user: UserTokens) -> None:
    header, claims = unverified_parts(user.access_token)
    attacker = OKPKey.generate_key("Ed25519")

    forged = sign_as_attacker(header, claims, attacker)

    assert_invalid_token(api.http.get("/v1/me/profile", headers=bearer(forged)), because="bad signature")


def test_a_token_signed_by_a_key_we_never_published_is_refused(api: Api, user: UserTokens) -> None:
    header, claims = unverified_parts(user.access_token)
    attacker = OKPKey.generate_key("Ed25519", auto_kid=True)

    forged = sign_as_attacker({**header, "kid": attacker.kid}, claims, attacker)

    assert_invalid_token(
        api.http.get("/v1/me/profile", headers=bearer(forged)), because="unknown signing key"
    )


def test_an_hs256_token_keyed_with_our_public_key_is_refused(api: Api, user: UserTokens) -> None:
    header, claims = unverified_parts(user.access_token)
    public_jwk = next(key for key in api.jwks()["keys"] if key["kid"] == header["kid"])
    confused = OctKey.import_key(json.dumps(public_jwk).encode())

    forged = sign_as_attacker({**header, "alg": "HS256"}, claims, confused)

    assert_invalid_token(
        api.http.get("/v1/me/profile", headers=bearer(forged)), because="algorithm not allowed"
    )


def test_a_token_whose_claims_were_changed_after_signing_is_refused(
    api: Api, user: UserTokens, make_customer: MakeCustomer
) -> None:
    victim = make_customer()
    _header, claims = unverified_parts(user.access_token)
    head, _payload, signature = user.access_token.split(".")

    forged = ".".join((head, b64url(json.dumps({**claims, "sub": victim.id}).encode()), signature))

    assert_invalid_token(api.http.get("/v1/me/profile", headers=bearer(forged)), because="bad signature")


def test_a_token_from_another_issuer_is_refused_even_with_our_key(
    api: Api,
    vault_shop: Shop,
    customer: Customer,
    sessions: sessionmaker[Session],
    keyring: Keyring,
    clock: FrozenClock,
) -> None:
    impostor = TokenIssuer(provider=keyring.provider, clock=clock, issuer="https://attacker.example")
    with sessions.begin() as session:
        token = impostor.issue_access_token(
            session=session,
            subject=vault_shop.client_id,
            audience=vault_shop.client_id,
            client_id=vault_shop.client_id,
            amr=(),
            scopes=vault_shop.scopes,
        )

    assert_invalid_token(
        api.http.get(f"/v1/subjects/{customer.id}/profile", headers=bearer(token)),
        because="invalid claim: iss",
    )


def test_a_jwt_of_another_type_signed_by_us_is_not_an_access_token(
    api: Api,
    vault_shop: Shop,
    customer: Customer,
    sessions: sessionmaker[Session],
    credentials: Credentials,
) -> None:
    # RFC 9068 §4 / RFC 8725 §3.11: an approval token (typ JWT) must not open the API.
    with sessions.begin() as session:
        token = credentials.tokens.sign_jwt(
            session=session,
            token_type="JWT",
            claims={
                "sub": vault_shop.client_id,
                "aud": vault_shop.client_id,
                "client_id": vault_shop.client_id,
                "scope": "vault:read",
            },
            lifetime_seconds=60,
        )

    assert_invalid_token(
        api.http.get(f"/v1/subjects/{customer.id}/profile", headers=bearer(token)), because="wrong token type"
    )


@pytest.mark.parametrize("value", ["not-a-jwt", "a.b.c", "Bearer", "e30.e30.", "x" * 5000])
def test_garbage_bearer_tokens_are_401_never_500(api: Api, value: str) -> None:
    response = api.http.get("/v1/me/profile", headers=bearer(value))

    assert response.status_code == 401
    assert response.json()["code"] in {"invalid_token", "unauthorized"}


@pytest.mark.parametrize("authorization", ["", "Basic dXNlcjpwYXNz", "Bearer ", "Token abc"])
def test_a_missing_or_non_bearer_authorization_is_a_401_with_a_challenge(
    api: Api, authorization: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = api.http.get("/v1/me/profile", headers=headers)

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_client_token_is_not_a_user_token(api: Api, vault_shop: Shop) -> None:
    assert_problem(api.http.get("/v1/me/profile", headers=vault_shop.headers), 403, "forbidden")


def sign_as_attacker(header: dict[str, Any], claims: dict[str, Any], key: OKPKey | OctKey) -> str:
    """Sign with whatever algorithm the header names, as an attacker's library would."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.encode(header, claims, key, registry=JWSRegistry(algorithms=[header["alg"]]))
