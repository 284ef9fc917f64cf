"""POST /v1/users: a shop registers a customer (API.md "Authentication"; NIST SP 800-63B password rules)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from privacy_service.identity.scopes import Scope
from tests.functional.conftest import (
    CUSTOMER_PASSWORD,
    Api,
    MakeCustomer,
    MakeShop,
    assert_problem,
    unique_email,
)


def test_a_shop_with_users_write_registers_a_customer_and_gets_their_id(api: Api) -> None:
    response = api.register(email=unique_email(), profile={"given_name": "Grace"})

    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["id"]
    assert isinstance(body["id"], str)
    assert body["id"]


def test_the_registered_customer_can_log_in_with_the_password_given(api: Api) -> None:
    email = unique_email()
    registered = api.register(email=email).json()["id"]

    tokens = api.tokens(email, CUSTOMER_PASSWORD)

    assert api.http.get("/v1/me/profile", headers=tokens.headers).json()["email"] == email
    assert api.introspect(tokens.access_token)["sub"] == registered


def test_an_email_taken_in_another_case_and_with_whitespace_is_a_409_email_taken(api: Api) -> None:
    email = unique_email()
    assert api.register(email=email).status_code == 201

    again = api.register(email=f"  {email.upper()} ", password="Another-Fine-Passphrase")

    assert_problem(again, 409, "email_taken")


def test_a_password_shorter_than_eight_characters_is_a_422(api: Api) -> None:
    body = assert_problem(api.register(email=unique_email(), password="Sh0rt!x"), 422, "password_too_short")

    assert "Sh0rt!x" not in str(body)


def test_a_blocklisted_password_is_a_422_password_blocklisted(api: Api) -> None:
    body = assert_problem(
        api.register(email=unique_email(), password="iloveyou"), 422, "password_blocklisted"
    )

    assert "iloveyou" not in str(body)


def test_a_password_containing_the_emails_name_is_a_422(api: Api) -> None:
    response = api.register(email="marguerite.yourcenar@example.com", password="marguerite.yourcenar-1903")

    assert_problem(response, 422, "password_contains_email")


def test_a_refused_password_creates_no_account(api: Api) -> None:
    email = unique_email()
    assert api.register(email=email, password="iloveyou").status_code == 422

    assert api.register(email=email).status_code == 201


def test_an_invalid_email_or_country_is_a_422_listing_the_fields(api: Api) -> None:
    response = api.register(email="not-an-address", country="Germany")

    body = assert_problem(response, 422, "validation_error")
    assert {error["field"] for error in body["errors"]} == {"email", "country"}
    assert "not-an-address" not in response.text


def test_profile_fields_are_stored_with_the_account(api: Api) -> None:
    email = unique_email()
    profile = {
        "given_name": "Émilie",
        "family_name": "du Châtelet",
        "phone": "+33 1 23 45 67 89",
        "locale": "fr_fr",
    }
    assert api.register(email=email, country="fr", profile=profile).status_code == 201

    stored = api.http.get("/v1/me/profile", headers=api.tokens(email, CUSTOMER_PASSWORD).headers).json()

    assert stored["email"] == email
    assert stored["country"] == "FR"
    assert stored["locale"] == "fr-FR"
    assert (stored["given_name"], stored["family_name"], stored["phone"]) == (
        "Émilie",
        "du Châtelet",
        "+33 1 23 45 67 89",
    )


def test_an_invalid_profile_field_is_a_422_naming_it_not_a_500(api: Api) -> None:
    response = api.register(email=unique_email(), profile={"phone": "call me maybe"})

    body = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["profile.phone"]
    assert "call me maybe" not in response.text


def test_an_unknown_profile_field_is_a_422_naming_it_not_a_500(api: Api) -> None:
    response = api.register(email=unique_email(), profile={"favourite_colour": "teal"})

    body = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["profile.favourite_colour"]


def test_a_client_without_users_write_is_refused_with_403(api: Api, make_shop: MakeShop) -> None:
    login_only = make_shop(Scope.AUTH_LOGIN)

    assert_problem(api.register(email=unique_email(), shop=login_only), 403, "forbidden")


def test_registration_without_a_token_is_a_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.post(
        "/v1/users", json={"email": unique_email(), "password": CUSTOMER_PASSWORD, "country": "DE"}
    )

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_registration_with_a_customers_token_is_refused_with_403(
    api: Api, make_customer: MakeCustomer
) -> None:
    customer = make_customer()
    user = api.tokens(customer.email, customer.password)

    response = api.http.post(
        "/v1/users",
        json={"email": unique_email(), "password": CUSTOMER_PASSWORD, "country": "DE"},
        headers=user.headers,
    )

    assert_problem(response, 403, "forbidden")
