"""OAuth endpoints: token (RFC 6749), revocation (RFC 7009), introspection (RFC 7662), discovery, keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit.models import AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.identity import revocation
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.scopes import Scope
from privacy_service.work import Workplace
from tests.functional.conftest import (
    Api,
    Customer,
    MakeShop,
    Shop,
    UserTokens,
    assert_oauth_error,
    bearer,
    unverified_parts,
    verify_with_jwks,
)


@pytest.fixture
def user(api: Api, customer: Customer) -> UserTokens:
    return api.tokens(customer.email, customer.password)


# -- /oauth/token: client credentials ---------------------------------------------------------------


def test_client_credentials_answers_a_bearer_token_carrying_the_clients_scopes(
    api: Api, make_shop: MakeShop, credentials: Credentials
) -> None:
    shop = make_shop(Scope.VAULT_READ, Scope.DSR_WRITE)

    response = api.oauth("token", {"grant_type": "client_credentials"}, auth=shop.basic)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == credentials.tokens.access_token_seconds
    assert body["scope"] == "dsr:write vault:read"
    assert "refresh_token" not in body
    claims = verify_with_jwks(body["access_token"], api.jwks()).claims
    assert claims["sub"] == claims["aud"] == shop.client_id
    assert claims["scope"] == "dsr:write vault:read"
    assert "amr" not in claims


def test_the_client_may_authenticate_with_its_credentials_in_the_form(api: Api, shop: Shop) -> None:
    response = api.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": shop.client_id,
            "client_secret": shop.client_secret,
        },
    )

    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_a_wrong_client_secret_is_a_401_invalid_client(api: Api, shop: Shop) -> None:
    response = api.oauth(
        "token", {"grant_type": "client_credentials"}, auth=(shop.client_id, "not-the-secret")
    )

    assert_oauth_error(response, 401, "invalid_client")


def test_wrong_client_secrets_are_throttled_by_address_with_retry_after_and_the_right_one_waits_too(
    api: Api, shop: Shop, clock: FrozenClock
) -> None:
    grant = {"grant_type": "client_credentials"}
    for attempt in range(20):
        guessed = api.oauth("token", grant, auth=(shop.client_id if attempt % 2 else "unknown", "guess"))
        assert_oauth_error(guessed, 401, "invalid_client")

    throttled = api.oauth("token", grant)
    assert_oauth_error(throttled, 429, "temporarily_unavailable")
    assert 0 < int(throttled.headers["retry-after"]) <= 900
    clock.advance(timedelta(seconds=int(throttled.headers["retry-after"])))
    assert api.oauth("token", grant).status_code == 200


def test_an_unknown_client_gets_the_same_401_invalid_client(api: Api, shop: Shop) -> None:
    wrong_secret = api.oauth("token", {"grant_type": "client_credentials"}, auth=(shop.client_id, "nope"))
    unknown = api.oauth("token", {"grant_type": "client_credentials"}, auth=("no-such-client", "nope"))

    assert assert_oauth_error(unknown, 401, "invalid_client") == assert_oauth_error(
        wrong_secret, 401, "invalid_client"
    )


def test_no_client_authentication_at_all_is_a_401_invalid_client(api: Api) -> None:
    response = api.http.post("/oauth/token", data={"grant_type": "client_credentials"})

    assert_oauth_error(response, 401, "invalid_client")


def test_malformed_basic_credentials_are_a_401_invalid_client(api: Api) -> None:
    response = api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic %%%"}
    )

    assert_oauth_error(response, 401, "invalid_client")


def test_an_unknown_grant_type_is_a_400_unsupported_grant_type(api: Api) -> None:
    assert_oauth_error(api.oauth("token", {"grant_type": "password"}), 400, "unsupported_grant_type")


def test_a_missing_grant_type_is_a_400_invalid_request(api: Api) -> None:
    assert_oauth_error(api.oauth("token", {}), 400, "invalid_request")


def test_a_json_body_instead_of_a_form_is_a_400_invalid_request(api: Api, shop: Shop) -> None:
    response = api.http.post("/oauth/token", json={"grant_type": "client_credentials"}, auth=shop.basic)

    assert_oauth_error(response, 400, "invalid_request")


def test_a_parameter_sent_twice_is_a_400_invalid_request(api: Api, shop: Shop) -> None:
    response = api.http.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&grant_type=refresh_token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=shop.basic,
    )

    assert_oauth_error(response, 400, "invalid_request")


def test_a_refresh_grant_without_a_refresh_token_is_a_400_invalid_request(api: Api) -> None:
    assert_oauth_error(api.oauth("token", {"grant_type": "refresh_token"}), 400, "invalid_request")


# -- /oauth/token: refresh tokens -------------------------------------------------------------------


def test_a_refresh_token_rotates_into_a_new_pair_for_the_same_session(
    api: Api, customer: Customer, user: UserTokens
) -> None:
    response = api.refresh(user.refresh_token)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"] != user.refresh_token
    claims = verify_with_jwks(body["access_token"], api.jwks()).claims
    assert claims["sub"] == customer.id
    assert claims["amr"] == ["pwd"]
    assert claims["jti"] != unverified_parts(user.access_token)[1]["jti"]
    assert api.http.get("/v1/me/profile", headers=bearer(body["access_token"])).status_code == 200
    assert api.refresh(body["refresh_token"]).status_code == 200


def test_a_refreshed_token_keeps_the_second_factor_of_its_login(
    api: Api, customer: Customer, user: UserTokens
) -> None:
    totp, _codes = api.enrol_totp(user)
    with_otp = api.tokens_with_totp(customer.email, customer.password, totp)

    refreshed = api.refresh(with_otp.refresh_token).json()

    assert verify_with_jwks(refreshed["access_token"], api.jwks()).claims["amr"] == ["pwd", "otp"]


def test_reusing_a_spent_refresh_token_is_invalid_grant_and_revokes_the_whole_family(
    api: Api, user: UserTokens
) -> None:
    rotated = api.refresh(user.refresh_token).json()
    newest = UserTokens(access_token=rotated["access_token"], refresh_token=rotated["refresh_token"])

    reuse = api.refresh(user.refresh_token)

    assert_oauth_error(reuse, 400, "invalid_grant")
    assert_oauth_error(api.refresh(newest.refresh_token), 400, "invalid_grant")
    assert api.profile_status(newest) == 401
    assert api.profile_status(user) == 401


def test_a_refresh_token_of_another_shop_is_invalid_grant_and_revokes_nothing(
    api: Api, user: UserTokens, make_shop: MakeShop
) -> None:
    other_shop = make_shop(Scope.AUTH_LOGIN)

    assert_oauth_error(api.refresh(user.refresh_token, shop=other_shop), 400, "invalid_grant")

    assert api.profile_status(user) == 200
    assert api.refresh(user.refresh_token).status_code == 200


def test_an_unknown_refresh_token_is_invalid_grant(api: Api) -> None:
    assert_oauth_error(api.refresh("never-issued"), 400, "invalid_grant")


def test_a_refresh_token_dies_with_its_session_after_the_session_lifetime(
    api: Api, user: UserTokens, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(timedelta(days=settings.session_days, seconds=1))

    assert_oauth_error(api.refresh(user.refresh_token), 400, "invalid_grant")


# -- /oauth/revoke ----------------------------------------------------------------------------------


def test_revoking_a_refresh_token_ends_its_session(api: Api, user: UserTokens) -> None:
    response = api.oauth("revoke", {"token": user.refresh_token})

    assert response.status_code == 200
    assert_oauth_error(api.refresh(user.refresh_token), 400, "invalid_grant")
    assert api.profile_status(user) == 401


def test_revoking_a_rotated_out_refresh_token_still_ends_the_session(api: Api, user: UserTokens) -> None:
    rotated = api.refresh(user.refresh_token).json()

    assert api.oauth("revoke", {"token": user.refresh_token}).status_code == 200

    assert_oauth_error(api.refresh(rotated["refresh_token"]), 400, "invalid_grant")


def test_revoking_an_unknown_or_already_revoked_token_is_fine(api: Api, user: UserTokens) -> None:
    assert api.oauth("revoke", {"token": "never-issued"}).status_code == 200
    assert api.oauth("revoke", {"token": user.refresh_token}).status_code == 200
    assert api.oauth("revoke", {"token": user.refresh_token}).status_code == 200


def test_another_shop_cannot_revoke_a_customers_session(
    api: Api, user: UserTokens, make_shop: MakeShop
) -> None:
    other_shop = make_shop(Scope.AUTH_LOGIN)

    response = api.oauth("revoke", {"token": user.refresh_token}, auth=other_shop.basic)

    assert response.status_code == 400
    assert api.profile_status(user) == 200


def test_a_revoked_access_token_introspects_inactive_and_the_api_refuses_it_while_its_session_lives(
    api: Api, user: UserTokens
) -> None:
    assert api.oauth("revoke", {"token": user.access_token}).status_code == 200

    assert api.introspect(user.access_token) == {"active": False}
    refused = api.http.get("/v1/me/profile", headers=bearer(user.access_token))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    # RFC 7009 §2.1 revokes the token presented: the session's refresh token still yields a new one.
    renewed = api.refresh(user.refresh_token).json()
    assert api.http.get("/v1/me/profile", headers=bearer(renewed["access_token"])).status_code == 200


def test_a_revoked_client_credentials_token_is_refused_by_every_check(api: Api, vault_shop: Shop) -> None:
    revoked = api.oauth("revoke", {"token": vault_shop.access_token}, auth=vault_shop.basic)

    assert revoked.status_code == 200
    assert api.introspect(vault_shop.access_token, shop=vault_shop) == {"active": False}
    answer = api.http.post(
        "/v1/subjects/search", json={"email": "a@example.com"}, headers=bearer(vault_shop.access_token)
    )
    assert answer.status_code == 401


def test_revoking_an_access_token_twice_records_one_event_naming_its_holder(
    api: Api, user: UserTokens, customer: Customer, sessions: sessionmaker[Session]
) -> None:
    for _ in range(2):
        assert api.oauth("revoke", {"token": user.access_token}).status_code == 200

    with sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "token_revoke")).all()
    assert [(event.actor_id, event.target_type, event.target_id) for event in events] == [
        (api.shop.client_id, "user", customer.id)
    ]


def test_another_shop_cannot_revoke_a_customers_access_token(
    api: Api, user: UserTokens, make_shop: MakeShop
) -> None:
    other_shop = make_shop(Scope.AUTH_LOGIN)

    assert_oauth_error(
        api.oauth("revoke", {"token": user.access_token}, auth=other_shop.basic), 400, "invalid_request"
    )
    assert api.introspect(user.access_token)["active"] is True


def test_a_revocation_is_forgotten_once_the_token_would_have_expired(
    api: Api,
    user: UserTokens,
    clock: FrozenClock,
    credentials: Credentials,
    workplace: Workplace,
) -> None:
    assert api.oauth("revoke", {"token": user.access_token}).status_code == 200
    lifetime = credentials.tokens.access_token_seconds + credentials.tokens.leeway_seconds

    clock.advance(timedelta(seconds=lifetime - 1))
    with workplace.open() as work:
        assert revocation.purge_expired(work) == 0
    assert api.introspect(user.access_token) == {"active": False}
    clock.advance(timedelta(seconds=2))
    with workplace.open() as work:
        assert revocation.purge_expired(work) == 1
    assert api.introspect(user.access_token) == {"active": False}  # expired by now anyway


def test_revocation_needs_client_authentication_and_a_token(api: Api, user: UserTokens) -> None:
    assert_oauth_error(
        api.http.post("/oauth/revoke", data={"token": user.refresh_token}), 401, "invalid_client"
    )
    assert_oauth_error(api.oauth("revoke", {}), 400, "invalid_request")


# -- /oauth/introspect ------------------------------------------------------------------------------


def test_introspection_describes_a_live_token_of_the_same_client(
    api: Api, customer: Customer, user: UserTokens, credentials: Credentials
) -> None:
    claims = verify_with_jwks(user.access_token, api.jwks()).claims

    answer = api.introspect(user.access_token)

    assert answer["active"] is True
    assert answer["sub"] == customer.id
    assert answer["client_id"] == api.shop.client_id
    assert answer["aud"] == [api.shop.client_id]
    assert answer["iss"] == credentials.tokens.issuer
    assert (answer["iat"], answer["exp"], answer["jti"]) == (claims["iat"], claims["exp"], claims["jti"])
    assert answer["amr"] == ["pwd"]
    assert answer["token_type"] == "Bearer"


def test_introspection_describes_the_clients_own_client_credentials_token(api: Api, vault_shop: Shop) -> None:
    answer = api.introspect(vault_shop.access_token, shop=vault_shop)

    assert answer["active"] is True
    assert answer["sub"] == answer["client_id"] == vault_shop.client_id
    assert answer["scope"] == "vault:read vault:write"
    assert "amr" not in answer


def test_introspection_of_another_clients_token_says_only_inactive(
    api: Api, user: UserTokens, vault_shop: Shop
) -> None:
    assert api.introspect(user.access_token, shop=vault_shop) == {"active": False}
    assert api.introspect(vault_shop.access_token) == {"active": False}


def test_introspection_of_a_revoked_expired_or_garbage_token_says_inactive(
    api: Api, customer: Customer, clock: FrozenClock, credentials: Credentials
) -> None:
    revoked = api.tokens(customer.email, customer.password)
    api.oauth("revoke", {"token": revoked.refresh_token})
    expiring = api.tokens(customer.email, customer.password)

    assert api.introspect(revoked.access_token) == {"active": False}
    assert api.introspect("not-a-token") == {"active": False}
    assert api.introspect(expiring.refresh_token) == {"active": False}  # an opaque refresh token is no JWT
    clock.advance(
        timedelta(seconds=credentials.tokens.access_token_seconds + credentials.tokens.leeway_seconds + 1)
    )
    assert api.introspect(expiring.access_token) == {"active": False}


def test_introspection_authenticated_with_a_bearer_token_instead_of_basic_is_a_401(
    api: Api, user: UserTokens
) -> None:
    response = api.http.post(
        "/oauth/introspect", data={"token": user.access_token}, headers=bearer(api.shop.access_token)
    )

    assert_oauth_error(response, 401, "invalid_client")


# -- discovery and signing keys ---------------------------------------------------------------------


def test_the_openid_configuration_names_the_issuer_and_the_endpoints(
    api: Api, credentials: Credentials
) -> None:
    response = api.http.get("/.well-known/openid-configuration")

    assert response.status_code == 200
    metadata = response.json()
    issuer = credentials.tokens.issuer
    assert metadata["issuer"] == issuer
    assert metadata["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert metadata["token_endpoint"] == f"{issuer}/oauth/token"
    assert metadata["revocation_endpoint"] == f"{issuer}/oauth/revoke"
    assert metadata["introspection_endpoint"] == f"{issuer}/oauth/introspect"
    assert set(metadata["grant_types_supported"]) == {"client_credentials", "refresh_token"}
    assert "client_secret_basic" in metadata["token_endpoint_auth_methods_supported"]


def test_the_jwks_publishes_public_ed25519_keys_only(api: Api) -> None:
    keys = api.jwks()["keys"]

    assert keys
    for key in keys:
        assert (key["kty"], key["crv"]) == ("OKP", "Ed25519")
        assert key["kid"]
        assert "d" not in key


def test_after_rotating_the_signing_key_old_tokens_stay_valid_and_the_jwks_lists_both_keys(
    api: Api,
    customer: Customer,
    user: UserTokens,
    credentials: Credentials,
    workplace: Workplace,
) -> None:
    old_kid = unverified_parts(user.access_token)[0]["kid"]

    with workplace.open() as work:
        new_kid = credentials.tokens.rotate_signing_key(work)

    assert new_kid != old_kid
    assert {key["kid"] for key in api.jwks()["keys"]} == {old_kid, new_kid}
    assert api.profile_status(user) == 200
    verify_with_jwks(user.access_token, api.jwks())
    fresh = api.tokens(customer.email, customer.password)
    assert unverified_parts(fresh.access_token)[0]["kid"] == new_kid
    verify_with_jwks(fresh.access_token, api.jwks())
    assert unverified_parts(api.refresh(user.refresh_token).json()["access_token"])[0]["kid"] == new_kid


def test_a_retired_key_leaves_the_jwks_once_its_tokens_have_expired(
    api: Api,
    user: UserTokens,
    credentials: Credentials,
    clock: FrozenClock,
    workplace: Workplace,
) -> None:
    old_kid = unverified_parts(user.access_token)[0]["kid"]
    with workplace.open() as work:
        new_kid = credentials.tokens.rotate_signing_key(work)
    tokens = credentials.tokens

    clock.advance(
        timedelta(seconds=tokens.key_cache_seconds + tokens.access_token_seconds + tokens.leeway_seconds + 1)
    )

    assert {key["kid"] for key in api.jwks()["keys"]} == {new_kid}
    assert old_kid != new_kid
