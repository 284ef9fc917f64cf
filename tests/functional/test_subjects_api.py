"""Other people's personal data over HTTP: records, profiles and search, by scope, role and second factor."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from privacy_service.identity.scopes import Role, Scope
from tests.functional.conftest import (
    Api,
    Customer,
    MakeCustomer,
    MakeShop,
    MakeStaff,
    Shop,
    Staff,
    UserTokens,
    assert_problem,
    unique_email,
)

ADDRESS = {"street": "Rue de Rivoli 1", "postcode": "75001", "city": "Paris", "lines": ["c/o Ada", None]}


def record_path(subject_id: str, category: str = "address") -> str:
    return f"/v1/subjects/{subject_id}/records/{category}"


@pytest.fixture
def officer(api: Api, make_staff: MakeStaff) -> UserTokens:
    """A compliance officer signed in with password and TOTP."""
    staff = make_staff()
    assert staff.totp is not None
    return api.tokens_with_totp(staff.email, staff.password, staff.totp)


@pytest.fixture
def officer_without_2fa(api: Api, make_staff: MakeStaff) -> UserTokens:
    """A compliance officer with no second factor enrolled, so signed in with the password alone."""
    staff = make_staff(with_totp=False)
    return api.tokens(staff.email, staff.password)


# -- records ----------------------------------------------------------------------------------------


def test_a_record_stored_with_vault_write_reads_back_with_vault_read(
    client: TestClient, customer: Customer, vault_shop: Shop
) -> None:
    stored = client.put(record_path(customer.id), json=ADDRESS, headers=vault_shop.headers)
    assert stored.status_code == 204
    assert stored.content == b""

    read = client.get(record_path(customer.id), headers=vault_shop.headers)

    assert read.status_code == 200
    assert read.json() == ADDRESS


def test_storing_a_record_again_replaces_it(client: TestClient, customer: Customer, vault_shop: Shop) -> None:
    client.put(record_path(customer.id, "tax_id"), json={"vat": "FR40303265045"}, headers=vault_shop.headers)
    client.put(record_path(customer.id, "tax_id"), json={"vat": "DE136695976"}, headers=vault_shop.headers)

    assert client.get(record_path(customer.id, "tax_id"), headers=vault_shop.headers).json() == {
        "vat": "DE136695976"
    }


def test_writing_a_record_without_vault_write_is_a_403(
    client: TestClient, customer: Customer, make_shop: MakeShop
) -> None:
    reader = make_shop(Scope.VAULT_READ)

    response = client.put(record_path(customer.id), json=ADDRESS, headers=reader.headers)

    assert_problem(response, 403, "forbidden")
    assert_problem(client.get(record_path(customer.id), headers=reader.headers), 404, "record_not_found")


def test_reading_a_record_without_vault_read_is_a_403(
    client: TestClient, customer: Customer, make_shop: MakeShop, vault_shop: Shop
) -> None:
    client.put(record_path(customer.id), json=ADDRESS, headers=vault_shop.headers)
    writer = make_shop(Scope.VAULT_WRITE)

    assert_problem(client.get(record_path(customer.id), headers=writer.headers), 403, "forbidden")


def test_a_record_of_an_unknown_subject_is_a_404(client: TestClient, vault_shop: Shop) -> None:
    assert_problem(
        client.put(record_path("no-such-subject"), json=ADDRESS, headers=vault_shop.headers),
        404,
        "subject_not_found",
    )
    assert_problem(
        client.get(record_path("no-such-subject"), headers=vault_shop.headers), 404, "subject_not_found"
    )


def test_a_category_the_subject_has_no_record_under_is_a_404_record_not_found(
    client: TestClient, customer: Customer, vault_shop: Shop
) -> None:
    client.put(record_path(customer.id), json=ADDRESS, headers=vault_shop.headers)

    assert_problem(
        client.get(record_path(customer.id, "phone"), headers=vault_shop.headers), 404, "record_not_found"
    )


@pytest.mark.parametrize("category", ["Address", "tax-id", "9lives", "a" * 65])
def test_an_invalid_category_in_the_path_is_a_422(
    client: TestClient, customer: Customer, vault_shop: Shop, category: str
) -> None:
    put = client.put(record_path(customer.id, category), json=ADDRESS, headers=vault_shop.headers)
    get = client.get(record_path(customer.id, category), headers=vault_shop.headers)

    assert assert_problem(put, 422, "validation_error")["errors"][0]["field"] == "category"
    assert_problem(get, 422, "validation_error")


def test_a_record_must_be_a_json_object(client: TestClient, customer: Customer, vault_shop: Shop) -> None:
    response = client.put(record_path(customer.id), json=["Rue de Rivoli 1"], headers=vault_shop.headers)

    assert_problem(response, 422, "validation_error")


def test_a_customer_cannot_use_the_subject_endpoints_even_for_themself(
    api: Api, customer: Customer, make_customer: MakeCustomer, vault_shop: Shop
) -> None:
    other = make_customer()
    api.http.put(record_path(other.id), json=ADDRESS, headers=vault_shop.headers)
    me = api.tokens(customer.email, customer.password)

    for subject_id in (other.id, customer.id):
        assert_problem(
            api.http.get(f"/v1/subjects/{subject_id}/profile", headers=me.headers), 403, "forbidden"
        )
        assert_problem(api.http.get(record_path(subject_id), headers=me.headers), 403, "forbidden")
        assert_problem(
            api.http.put(record_path(subject_id), json=ADDRESS, headers=me.headers), 403, "forbidden"
        )
    search = api.http.post("/v1/subjects/search", json={"email": other.email}, headers=me.headers)
    assert_problem(search, 403, "forbidden")


def test_the_subject_endpoints_need_a_token(client: TestClient, customer: Customer) -> None:
    response = client.get(record_path(customer.id))

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


# -- profiles ---------------------------------------------------------------------------------------


def test_a_client_with_vault_read_reads_a_subjects_profile(
    client: TestClient, customer: Customer, vault_shop: Shop
) -> None:
    response = client.get(f"/v1/subjects/{customer.id}/profile", headers=vault_shop.headers)

    assert response.status_code == 200
    profile = response.json()
    assert profile["email"] == customer.email
    assert (profile["given_name"], profile["family_name"], profile["country"]) == ("Ada", "Lovelace", "DE")


def test_a_client_without_vault_read_cannot_read_a_profile(
    client: TestClient, customer: Customer, make_shop: MakeShop
) -> None:
    writer = make_shop(Scope.VAULT_WRITE, Scope.AUTH_LOGIN, Scope.USERS_WRITE)

    assert_problem(
        client.get(f"/v1/subjects/{customer.id}/profile", headers=writer.headers), 403, "forbidden"
    )


def test_the_profile_of_an_unknown_subject_is_a_404(client: TestClient, vault_shop: Shop) -> None:
    assert_problem(
        client.get("/v1/subjects/nobody/profile", headers=vault_shop.headers), 404, "subject_not_found"
    )


# -- staff ------------------------------------------------------------------------------------------


def test_a_compliance_officer_with_a_second_factor_reads_a_profile_and_searches(
    client: TestClient, customer: Customer, officer: UserTokens
) -> None:
    profile = client.get(f"/v1/subjects/{customer.id}/profile", headers=officer.headers)
    search = client.post("/v1/subjects/search", json={"email": customer.email}, headers=officer.headers)

    assert profile.status_code == 200
    assert profile.json()["email"] == customer.email
    assert search.status_code == 200
    assert search.json() == {"items": [{"id": customer.id}], "next_cursor": None}


def test_a_compliance_officer_without_otp_in_amr_is_refused_with_403_mfa_required(
    client: TestClient, customer: Customer, officer_without_2fa: UserTokens
) -> None:
    profile = client.get(f"/v1/subjects/{customer.id}/profile", headers=officer_without_2fa.headers)
    search = client.post(
        "/v1/subjects/search", json={"email": customer.email}, headers=officer_without_2fa.headers
    )

    assert_problem(profile, 403, "mfa_required")
    assert_problem(search, 403, "mfa_required")


def test_an_admin_with_a_second_factor_reads_profiles_too(
    api: Api, customer: Customer, make_staff: MakeStaff
) -> None:
    admin: Staff = make_staff((Role.ADMIN,))
    assert admin.totp is not None
    tokens = api.tokens_with_totp(admin.email, admin.password, admin.totp)

    assert api.http.get(f"/v1/subjects/{customer.id}/profile", headers=tokens.headers).status_code == 200


def test_staff_signed_in_with_a_recovery_code_count_as_having_a_second_factor(
    api: Api, customer: Customer, make_staff: MakeStaff
) -> None:
    staff = make_staff()
    response = api.mfa(api.mfa_token(staff.email, staff.password), staff.recovery_codes[0])
    tokens = UserTokens(
        access_token=response.json()["access_token"], refresh_token=response.json()["refresh_token"]
    )

    assert api.http.get(f"/v1/subjects/{customer.id}/profile", headers=tokens.headers).status_code == 200


def test_a_customer_token_on_a_staff_endpoint_is_a_403_forbidden(
    api: Api, customer: Customer, make_customer: MakeCustomer
) -> None:
    other = make_customer()
    me = api.tokens(customer.email, customer.password)

    assert_problem(api.http.get(f"/v1/subjects/{other.id}/profile", headers=me.headers), 403, "forbidden")


def test_a_customer_with_2fa_is_still_not_staff(
    api: Api, customer: Customer, make_customer: MakeCustomer
) -> None:
    other = make_customer()
    totp, _codes = api.enrol_totp(api.tokens(customer.email, customer.password))
    me = api.tokens_with_totp(customer.email, customer.password, totp)

    assert_problem(api.http.get(f"/v1/subjects/{other.id}/profile", headers=me.headers), 403, "forbidden")


def test_staff_may_not_write_records_or_read_them_as_a_client_would(
    client: TestClient, customer: Customer, officer: UserTokens
) -> None:
    assert_problem(
        client.put(record_path(customer.id), json=ADDRESS, headers=officer.headers), 403, "forbidden"
    )
    assert_problem(client.get(record_path(customer.id), headers=officer.headers), 403, "forbidden")


# -- search -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda email: email, id="as-registered"),
        pytest.param(lambda email: email.upper(), id="upper-case"),
        pytest.param(lambda email: f"  {email}\t", id="surrounding-whitespace"),
        pytest.param(
            lambda email: "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in email),
            id="fullwidth-nfkc",
        ),
    ],
)
def test_search_finds_a_subject_by_exact_email_whatever_its_case_or_unicode_form(
    client: TestClient, customer: Customer, vault_shop: Shop, variant: Callable[[str], str]
) -> None:
    response = client.post(
        "/v1/subjects/search", json={"email": variant(customer.email)}, headers=vault_shop.headers
    )

    assert response.status_code == 200
    assert response.json() == {"items": [{"id": customer.id}], "next_cursor": None}


def test_search_for_an_unknown_or_partial_email_finds_nobody(
    client: TestClient, customer: Customer, vault_shop: Shop
) -> None:
    for email in (unique_email("nobody"), customer.email.split("@")[0], customer.email[:-1]):
        response = client.post("/v1/subjects/search", json={"email": email}, headers=vault_shop.headers)
        assert response.json() == {"items": [], "next_cursor": None}


def test_the_searched_email_travels_in_the_body_never_in_the_url(
    client: TestClient, customer: Customer, vault_shop: Shop
) -> None:
    response = client.post("/v1/subjects/search", json={"email": customer.email}, headers=vault_shop.headers)

    assert response.status_code == 200
    assert customer.email not in str(response.request.url)
    assert customer.email.split("@")[0] not in str(response.request.url)
    # No endpoint takes the address as a query parameter.
    by_query = client.get("/v1/subjects", params={"email": customer.email}, headers=vault_shop.headers)
    assert by_query.status_code in {404, 405}
    assert customer.email not in by_query.text


def test_search_needs_vault_read(client: TestClient, customer: Customer, make_shop: MakeShop) -> None:
    writer = make_shop(Scope.VAULT_WRITE)

    response = client.post("/v1/subjects/search", json={"email": customer.email}, headers=writer.headers)

    assert_problem(response, 403, "forbidden")


def test_search_refuses_a_body_without_an_email(client: TestClient, vault_shop: Shop) -> None:
    response = client.post("/v1/subjects/search", json={"mail": "x@example.com"}, headers=vault_shop.headers)

    body = assert_problem(response, 422, "validation_error")
    assert "x@example.com" not in response.text
    assert {error["field"] for error in body["errors"]} == {"email", "mail"}
