"""TOTP two-factor: enrolment, login with a second factor, replay, recovery codes, and turning it off."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.identity.scopes import Scope
from privacy_service.identity.throttle import ThrottleLimits
from tests.functional.conftest import (
    Api,
    Customer,
    MakeShop,
    UserTokens,
    assert_problem,
    verify_with_jwks,
)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def signed_in(api: Api, customer: Customer) -> UserTokens:
    """The customer's tokens from a password-only login, before any second factor is enrolled."""
    return api.tokens(customer.email, customer.password)


@pytest.fixture
def enrolled(api: Api, signed_in: UserTokens) -> tuple[pyotp.TOTP, list[str]]:
    """The customer's authenticator app and recovery codes, TOTP confirmed through the API."""
    return api.enrol_totp(signed_in)


# -- enrolment ------------------------------------------------------------------------------------


def test_enrolment_answers_the_secret_an_otpauth_uri_and_an_svg_qr_code(
    api: Api, customer: Customer, signed_in: UserTokens, settings: Settings
) -> None:
    response = api.http.post("/v1/me/mfa/totp", headers=signed_in.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    uri = urlsplit(body["otpauth_uri"])
    assert parse_qs(uri.query)["issuer"] == [settings.totp_issuer]
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert body["qr_svg"].lstrip().startswith(("<svg", "<?xml"))
    assert pyotp.TOTP(body["secret"]).now()  # a base32 secret an authenticator app accepts


def test_confirming_with_a_wrong_code_is_a_401_invalid_code_and_leaves_mfa_off(
    api: Api, customer: Customer, signed_in: UserTokens
) -> None:
    secret = api.http.post("/v1/me/mfa/totp", headers=signed_in.headers).json()["secret"]

    response = api.http.post(
        "/v1/me/mfa/totp/confirm",
        json={"code": api.wrong_code(pyotp.TOTP(secret))},
        headers=signed_in.headers,
    )

    assert_problem(response, 401, "invalid_code")
    assert "access_token" in api.login(customer.email, customer.password).json()


def test_confirming_with_the_right_code_answers_ten_distinct_recovery_codes(
    api: Api, signed_in: UserTokens
) -> None:
    secret = api.http.post("/v1/me/mfa/totp", headers=signed_in.headers).json()["secret"]

    response = api.http.post(
        "/v1/me/mfa/totp/confirm", json={"code": api.code(pyotp.TOTP(secret))}, headers=signed_in.headers
    )

    assert response.status_code == 200
    codes = response.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert response.headers["cache-control"] == "no-store"


def test_confirming_before_starting_an_enrolment_is_refused(api: Api, signed_in: UserTokens) -> None:
    response = api.http.post("/v1/me/mfa/totp/confirm", json={"code": "123456"}, headers=signed_in.headers)

    assert_problem(response, 409, "mfa_enrolment_missing")


def test_a_second_enrolment_is_refused_while_totp_is_on(
    api: Api, signed_in: UserTokens, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    assert_problem(api.http.post("/v1/me/mfa/totp", headers=signed_in.headers), 409, "mfa_already_enabled")


# -- login with a second factor ---------------------------------------------------------------------


def test_once_enrolled_a_password_login_answers_mfa_required_and_no_tokens(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    response = api.login(customer.email, customer.password)

    assert response.status_code == 200
    body = response.json()
    assert body["mfa_required"] is True
    assert isinstance(body["mfa_token"], str)
    assert body["mfa_token"]
    assert "access_token" not in body
    assert "refresh_token" not in body


def test_the_right_totp_code_completes_the_login_with_amr_pwd_and_otp(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)

    response = api.mfa(mfa_token, api.fresh_code(totp))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    claims = verify_with_jwks(body["access_token"], api.jwks()).claims
    assert claims["amr"] == ["pwd", "otp"]
    assert claims["sub"] == customer.id
    assert (
        api.http.get("/v1/me/profile", headers={"Authorization": f"Bearer {body['access_token']}"}).json()[
            "email"
        ]
        == customer.email
    )


def test_a_code_with_the_spaces_an_app_shows_is_accepted(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)
    code = api.fresh_code(totp)

    assert api.mfa(mfa_token, f"{code[:3]} {code[3:]}").status_code == 200


def test_a_totp_code_is_refused_the_second_time_within_its_step(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, _codes = enrolled
    code = api.fresh_code(totp)
    assert api.mfa(api.mfa_token(customer.email, customer.password), code).status_code == 200

    second = api.mfa(api.mfa_token(customer.email, customer.password), code)

    assert_problem(second, 401, "mfa_code_replayed")


def test_the_mfa_token_survives_a_wrong_code(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)

    assert_problem(api.mfa(mfa_token, api.wrong_code(totp)), 401, "invalid_code")

    assert api.mfa(mfa_token, api.fresh_code(totp)).status_code == 200


def test_an_mfa_token_is_single_use(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)
    assert api.mfa(mfa_token, api.fresh_code(totp)).status_code == 200

    assert_problem(api.mfa(mfa_token, api.fresh_code(totp)), 401, "invalid_mfa_token")


def test_five_wrong_codes_burn_the_mfa_token_even_for_the_right_code(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]], clock: FrozenClock
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)
    limits = ThrottleLimits.default()
    for failures in range(5):
        clock.advance(timedelta(seconds=limits.delay_after(failures)))  # past the account's growing delay
        assert_problem(api.mfa(mfa_token, api.wrong_code(totp)), 401, "invalid_code")

    assert_problem(api.mfa(mfa_token, api.fresh_code(totp)), 401, "invalid_mfa_token")


def test_an_expired_mfa_token_is_refused(
    api: Api,
    customer: Customer,
    enrolled: tuple[pyotp.TOTP, list[str]],
    clock: FrozenClock,
    settings: Settings,
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)

    clock.advance(timedelta(seconds=settings.mfa_token_seconds))

    assert_problem(api.mfa(mfa_token, api.code(totp)), 401, "invalid_mfa_token")


def test_an_unknown_mfa_token_is_refused(api: Api, enrolled: tuple[pyotp.TOTP, list[str]]) -> None:
    totp, _codes = enrolled

    assert_problem(api.mfa("not-a-token-we-issued", api.fresh_code(totp)), 401, "invalid_mfa_token")


def test_an_mfa_token_cannot_be_completed_by_another_shop(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]], make_shop: MakeShop
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)
    other_shop = make_shop(Scope.AUTH_LOGIN)

    assert_problem(api.mfa(mfa_token, api.fresh_code(totp), shop=other_shop), 401, "invalid_mfa_token")


def test_a_recovery_code_completes_a_login_once_and_is_refused_the_second_time(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    _totp, codes = enrolled
    first = api.mfa(api.mfa_token(customer.email, customer.password), codes[0])
    assert first.status_code == 200, first.text
    assert verify_with_jwks(first.json()["access_token"], api.jwks()).claims["amr"] == ["pwd", "otp"]

    second = api.mfa(api.mfa_token(customer.email, customer.password), codes[0])

    assert_problem(second, 401, "invalid_code")
    assert api.mfa(api.mfa_token(customer.email, customer.password), codes[1]).status_code == 200


def test_the_session_opened_by_the_second_factor_shows_the_user_agent_sent_with_it(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)

    response = api.mfa(mfa_token, api.fresh_code(totp), user_agent=FIREFOX)

    user = UserTokens(
        access_token=response.json()["access_token"], refresh_token=response.json()["refresh_token"]
    )
    items = api.http.get("/v1/me/sessions", headers=user.headers).json()["items"]
    assert [(item["user_agent"], item["amr"]) for item in items if item["current"]] == [
        (FIREFOX, ["pwd", "otp"])
    ]


def test_mfa_needs_a_client_with_auth_login(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]], make_shop: MakeShop
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)

    response = api.mfa(mfa_token, api.fresh_code(totp), shop=make_shop(Scope.VAULT_READ))

    assert_problem(response, 403, "forbidden")


# -- turning TOTP off -------------------------------------------------------------------------------


def test_turning_totp_off_with_a_wrong_code_is_a_401_and_keeps_it_on(
    api: Api, customer: Customer, signed_in: UserTokens, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, _codes = enrolled

    response = api.http.request(
        "DELETE", "/v1/me/mfa/totp", json={"code": api.wrong_code(totp)}, headers=signed_in.headers
    )

    assert_problem(response, 401, "invalid_code")
    assert api.login(customer.email, customer.password).json()["mfa_required"] is True


def test_turning_totp_off_with_a_current_code_makes_logins_answer_tokens_directly(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, _codes = enrolled
    user = api.tokens_with_totp(customer.email, customer.password, totp)

    response = api.http.request(
        "DELETE", "/v1/me/mfa/totp", json={"code": api.fresh_code(totp)}, headers=user.headers
    )

    assert response.status_code == 204
    login = api.login(customer.email, customer.password).json()
    assert "access_token" in login
    assert "mfa_required" not in login


def test_turning_totp_off_when_it_is_not_on_is_refused(api: Api, signed_in: UserTokens) -> None:
    response = api.http.request(
        "DELETE", "/v1/me/mfa/totp", json={"code": "123456"}, headers=signed_in.headers
    )

    assert_problem(response, 409, "mfa_not_enabled")


def test_after_turning_totp_off_the_old_recovery_codes_are_gone(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, codes = enrolled
    user = api.tokens_with_totp(customer.email, customer.password, totp)
    off = api.http.request("DELETE", "/v1/me/mfa/totp", json={"code": codes[0]}, headers=user.headers)
    assert off.status_code == 204

    # Enrolled again: the new set replaces the old one, whose remaining codes no longer work.
    again_totp, _again_codes = api.enrol_totp(api.tokens(customer.email, customer.password))
    mfa_token = api.mfa_token(customer.email, customer.password)
    assert_problem(api.mfa(mfa_token, codes[1]), 401, "invalid_code")
    assert api.mfa(mfa_token, api.fresh_code(again_totp)).status_code == 200


# -- wrong codes are throttled per account, like wrong passwords (NIST SP 800-63B §5.2.2) -------------


def test_fresh_mfa_tokens_do_not_buy_more_guesses_at_the_code(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]], clock: FrozenClock
) -> None:
    # Someone who has the password logs in again and again, guessing five codes with each mfa_token,
    # always waiting out the growing delay: the account's window (10 failures in 15 minutes) stops them.
    totp, _codes = enrolled
    answers: list[str] = []
    while "rate_limited" not in answers and len(answers) < 40:
        clock.advance(timedelta(seconds=4))
        login = api.login(customer.email, customer.password)
        if login.status_code != 200:
            answers.append(login.json()["code"])
            break
        for _ in range(5):
            clock.advance(timedelta(seconds=4))
            response = api.mfa(login.json()["mfa_token"], api.wrong_code(totp))
            answers.append(response.json()["code"])
            if response.status_code != 401:
                break

    assert answers == ["invalid_code"] * 10 + ["rate_limited"]


def test_wrong_codes_make_the_next_attempt_wait_with_429_and_retry_after(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]], clock: FrozenClock
) -> None:
    totp, _codes = enrolled
    mfa_token = api.mfa_token(customer.email, customer.password)
    for _ in range(3):
        assert_problem(api.mfa(mfa_token, api.wrong_code(totp)), 401, "invalid_code")

    throttled = api.mfa(mfa_token, api.code(totp))

    assert_problem(throttled, 429, "rate_limited")
    clock.advance(timedelta(seconds=int(throttled.headers["retry-after"])))
    assert api.mfa(mfa_token, api.fresh_code(totp)).status_code == 200


def test_wrong_codes_when_turning_totp_off_are_throttled_too(
    api: Api, customer: Customer, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, _codes = enrolled
    user = api.tokens_with_totp(customer.email, customer.password, totp)
    statuses = [
        api.http.request(
            "DELETE", "/v1/me/mfa/totp", json={"code": api.wrong_code(totp)}, headers=user.headers
        ).status_code
        for _ in range(4)
    ]

    assert statuses == [401, 401, 401, 429]
