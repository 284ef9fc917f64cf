"""The signed-in customer's own account: profile, password, sessions and logout (API.md "Authentication")."""

from __future__ import annotations

import httpx
import pytest

from tests.functional.conftest import (
    Api,
    Customer,
    MakeCustomer,
    MakeStaff,
    Shop,
    UserTokens,
    assert_oauth_error,
    assert_problem,
    unique_email,
)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"
NEW_PASSWORD = "Velvet-Harbour-Compass-88"


@pytest.fixture
def me(api: Api, customer: Customer) -> UserTokens:
    return api.tokens(customer.email, customer.password, user_agent=FIREFOX)


def search(api: Api, shop: Shop, email: str) -> list[str]:
    response = api.http.post("/v1/subjects/search", json={"email": email}, headers=shop.headers)
    assert response.status_code == 200
    return [item["id"] for item in response.json()["items"]]


# -- profile ----------------------------------------------------------------------------------------


def test_a_customer_reads_their_own_profile(api: Api, customer: Customer, me: UserTokens) -> None:
    response = api.http.get("/v1/me/profile", headers=me.headers)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    profile = response.json()
    assert profile["email"] == customer.email
    assert profile["given_name"] == "Ada"
    assert profile["family_name"] == "Lovelace"
    assert profile["country"] == "DE"
    assert profile["locale"] == "en-GB"


def test_patch_changes_only_the_fields_sent(api: Api, customer: Customer, me: UserTokens) -> None:
    response = api.http.patch(
        "/v1/me/profile", json={"given_name": "Augusta", "phone": "+44 20 7946 0000"}, headers=me.headers
    )

    assert response.status_code == 200
    expected = {
        "given_name": "Augusta",
        "phone": "+44 20 7946 0000",
        "family_name": "Lovelace",
        "country": "DE",
    }
    assert expected.items() <= response.json().items()
    assert expected.items() <= api.http.get("/v1/me/profile", headers=me.headers).json().items()


def test_patch_with_null_clears_a_field_but_never_the_email(
    api: Api, customer: Customer, me: UserTokens
) -> None:
    cleared = api.http.patch("/v1/me/profile", json={"family_name": None}, headers=me.headers)
    no_email = api.http.patch("/v1/me/profile", json={"email": None}, headers=me.headers)

    assert cleared.status_code == 200
    assert cleared.json()["family_name"] is None
    assert cleared.json()["given_name"] == "Ada"
    assert_problem(no_email, 422, "validation_error")
    assert api.http.get("/v1/me/profile", headers=me.headers).json()["email"] == customer.email


def test_patch_refuses_unknown_and_invalid_fields(api: Api, me: UserTokens) -> None:
    unknown = api.http.patch("/v1/me/profile", json={"password": "x"}, headers=me.headers)
    invalid = api.http.patch("/v1/me/profile", json={"country": "Deutschland"}, headers=me.headers)

    assert_problem(unknown, 422, "validation_error")
    assert_problem(invalid, 422, "validation_error")
    assert "Deutschland" not in invalid.text


def test_changing_the_email_reindexes_it_for_search_and_login(
    api: Api, customer: Customer, me: UserTokens, vault_shop: Shop
) -> None:
    new_email = unique_email("renamed")

    response = api.http.patch("/v1/me/profile", json={"email": new_email}, headers=me.headers)

    assert response.status_code == 200
    assert response.json()["email"] == new_email
    assert search(api, vault_shop, new_email.upper()) == [customer.id]
    assert search(api, vault_shop, customer.email) == []
    assert api.login(new_email, customer.password).status_code == 200
    assert_problem(api.login(customer.email, customer.password), 401, "invalid_credentials")


def test_changing_the_email_to_another_customers_is_a_409(
    api: Api, me: UserTokens, make_customer: MakeCustomer
) -> None:
    other = make_customer()

    response = api.http.patch("/v1/me/profile", json={"email": f" {other.email.upper()}"}, headers=me.headers)

    assert_problem(response, 409, "email_taken")


def test_a_client_token_has_no_profile_of_its_own(api: Api, vault_shop: Shop) -> None:
    assert_problem(api.http.get("/v1/me/profile", headers=vault_shop.headers), 403, "forbidden")


# -- password ---------------------------------------------------------------------------------------


def change_password(api: Api, user: UserTokens, current: str, new: str = NEW_PASSWORD) -> httpx.Response:
    response: httpx.Response = api.http.post(
        "/v1/me/password", json={"current_password": current, "new_password": new}, headers=user.headers
    )
    return response


def test_a_wrong_current_password_is_a_401_and_counts_as_a_failed_login(
    api: Api, customer: Customer, me: UserTokens
) -> None:
    for attempt in range(3):
        assert_problem(change_password(api, me, f"Wrong-Current-{attempt}"), 401, "invalid_credentials")

    # Three failures start the account's growing delay, for logins and password changes alike.
    assert_problem(api.login(customer.email, customer.password), 429, "rate_limited")
    assert_problem(change_password(api, me, customer.password), 429, "rate_limited")
    assert api.profile_status(me) == 200


def test_changing_the_password_ends_the_other_sessions_but_keeps_this_one(
    api: Api, customer: Customer, me: UserTokens
) -> None:
    other_device = api.tokens(customer.email, customer.password, user_agent=SAFARI)

    response = change_password(api, me, customer.password)

    assert response.status_code == 204
    assert api.profile_status(me) == 200
    assert api.refresh(me.refresh_token).status_code == 200
    assert api.profile_status(other_device) == 401
    assert_oauth_error(api.refresh(other_device.refresh_token), 400, "invalid_grant")
    assert api.login(customer.email, NEW_PASSWORD).status_code == 200
    assert_problem(api.login(customer.email, customer.password), 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("new_password", "code"),
    [
        ("Short-1", "password_too_short"),
        ("trustno1", "password_blocklisted"),
    ],
)
def test_the_new_password_must_follow_the_rules(
    api: Api, customer: Customer, me: UserTokens, new_password: str, code: str
) -> None:
    assert_problem(change_password(api, me, customer.password, new_password), 422, code)

    assert api.login(customer.email, customer.password).status_code == 200


def test_the_new_password_must_not_contain_the_emails_name(api: Api, make_customer: MakeCustomer) -> None:
    customer = make_customer(email="hypatia.alexandria@example.com")
    user = api.tokens(customer.email, customer.password)

    response = change_password(api, user, customer.password, "Hypatia.Alexandria-415")

    assert_problem(response, 422, "password_contains_email")


def test_staff_passwords_need_twelve_characters(api: Api, make_staff: MakeStaff) -> None:
    staff = make_staff(with_totp=False)
    user = api.tokens(staff.email, staff.password)

    response = change_password(api, user, staff.password, "Eleven-Ch4r")

    assert_problem(response, 422, "password_too_short")
    assert change_password(api, user, staff.password, "Twelve-Chars").status_code == 204


# -- sessions ---------------------------------------------------------------------------------------


def test_the_sessions_list_shows_each_session_with_its_user_agent_and_marks_this_one(
    api: Api, customer: Customer, me: UserTokens
) -> None:
    other_device = api.tokens(customer.email, customer.password, user_agent=SAFARI)

    response = api.http.get("/v1/me/sessions", headers=me.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    by_agent = {item["user_agent"]: item for item in body["items"]}
    assert set(by_agent) == {FIREFOX, SAFARI}
    assert by_agent[FIREFOX]["current"] is True
    assert by_agent[SAFARI]["current"] is False
    assert by_agent[FIREFOX]["client_id"] == api.shop.client_id
    assert by_agent[FIREFOX]["amr"] == ["pwd"]
    other_view = api.http.get("/v1/me/sessions", headers=other_device.headers).json()["items"]
    assert {item["user_agent"] for item in other_view if item["current"]} == {SAFARI}


def test_the_sessions_list_shows_only_my_sessions(
    api: Api, me: UserTokens, make_customer: MakeCustomer
) -> None:
    someone = make_customer()
    api.tokens(someone.email, someone.password, user_agent=SAFARI)

    items = api.http.get("/v1/me/sessions", headers=me.headers).json()["items"]

    assert [item["user_agent"] for item in items] == [FIREFOX]


def test_ending_another_of_my_sessions_revokes_its_tokens(
    api: Api, customer: Customer, me: UserTokens
) -> None:
    other_device = api.tokens(customer.email, customer.password, user_agent=SAFARI)
    items = api.http.get("/v1/me/sessions", headers=me.headers).json()["items"]
    other_id = next(item["id"] for item in items if not item["current"])

    response = api.http.delete(f"/v1/me/sessions/{other_id}", headers=me.headers)

    assert response.status_code == 204
    assert api.profile_status(other_device) == 401
    assert_oauth_error(api.refresh(other_device.refresh_token), 400, "invalid_grant")
    assert api.profile_status(me) == 200
    remaining = api.http.get("/v1/me/sessions", headers=me.headers).json()["items"]
    assert [item["user_agent"] for item in remaining] == [FIREFOX]


def test_a_customer_cannot_end_someone_elses_session(
    api: Api, me: UserTokens, make_customer: MakeCustomer
) -> None:
    someone = make_customer()
    their_tokens = api.tokens(someone.email, someone.password)
    their_session = api.http.get("/v1/me/sessions", headers=their_tokens.headers).json()["items"][0]["id"]

    response = api.http.delete(f"/v1/me/sessions/{their_session}", headers=me.headers)

    assert_problem(response, 404, "not_found")
    assert api.profile_status(their_tokens) == 200


def test_logout_revokes_the_session(api: Api, customer: Customer, me: UserTokens) -> None:
    other_device = api.tokens(customer.email, customer.password, user_agent=SAFARI)

    response = api.http.post("/v1/auth/logout", headers=me.headers)

    assert response.status_code == 204
    assert_problem(api.http.get("/v1/me/profile", headers=me.headers), 401, "invalid_token")
    assert_oauth_error(api.refresh(me.refresh_token), 400, "invalid_grant")
    assert api.profile_status(other_device) == 200


def test_logout_needs_a_users_token(api: Api, vault_shop: Shop) -> None:
    assert_problem(api.http.post("/v1/auth/logout", headers=vault_shop.headers), 403, "forbidden")
    assert_problem(api.http.post("/v1/auth/logout"), 401, "unauthorized")


def test_the_sessions_list_pages_with_limit_and_cursor(api: Api, customer: Customer, me: UserTokens) -> None:
    for _ in range(4):
        api.tokens(customer.email, customer.password)

    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        response = api.http.get("/v1/me/sessions", params=params, headers=me.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    everything = api.http.get("/v1/me/sessions", headers=me.headers).json()
    assert [item["id"] for item in everything["items"]] == seen
    assert everything["next_cursor"] is None


def test_a_page_holds_fifty_sessions_by_default(api: Api, customer: Customer, me: UserTokens) -> None:
    for _ in range(50):
        api.tokens(customer.email, customer.password)

    first = api.http.get("/v1/me/sessions", headers=me.headers).json()
    rest = api.http.get("/v1/me/sessions", params={"cursor": first["next_cursor"]}, headers=me.headers).json()

    assert len(first["items"]) == 50
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"cursor": "not-a-cursor"}])
def test_an_invalid_limit_or_cursor_is_a_422(api: Api, me: UserTokens, params: dict[str, object]) -> None:
    response = api.http.get("/v1/me/sessions", params=params, headers=me.headers)

    body = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == list(params)
