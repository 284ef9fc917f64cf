"""POST /v1/auth/login: delegated password login, legacy hashes upgraded, throttling (API.md)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import timedelta

import bcrypt
import pytest
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core.clock import FrozenClock
from privacy_service.identity import accounts
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.models import User
from privacy_service.identity.scopes import Scope
from privacy_service.identity.throttle import ThrottleLimits
from privacy_service.work import Workplace
from tests.functional.conftest import (
    Api,
    Customer,
    MakeCustomer,
    MakeShop,
    assert_problem,
    unique_email,
    verify_with_jwks,
)

# The peppered password's second byte names its kind (crypto.passwords): argon2id made here, or a legacy hash.
ARGON2ID_KIND, LEGACY_KIND = 0x01, 0x02
ImportCustomer = Callable[[str], str]
PasswordKind = Callable[[str], int]
CHROME = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def test_a_correct_password_answers_bearer_tokens(api: Api, customer: Customer) -> None:
    response = api.login(customer.email, customer.password)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert body["password_change_required"] is False
    assert "mfa_required" not in body
    assert response.headers["cache-control"] == "no-store"


def test_the_access_token_verifies_against_the_jwks_with_the_promised_claims(
    api: Api, customer: Customer, clock: FrozenClock, credentials: Credentials
) -> None:
    access_token = api.login(customer.email, customer.password).json()["access_token"]

    token = verify_with_jwks(access_token, api.jwks())

    assert token.header["alg"] == "EdDSA"
    assert token.header["kid"] in {key["kid"] for key in api.jwks()["keys"]}
    claims = token.claims
    now = int(clock.now().timestamp())
    assert claims["iss"] == credentials.tokens.issuer
    assert claims["iss"] == api.http.get("/.well-known/openid-configuration").json()["issuer"]
    assert claims["sub"] == customer.id
    assert claims["aud"] == api.shop.client_id
    assert claims["iat"] == now
    assert claims["exp"] == now + 300
    assert isinstance(claims["jti"], str)
    assert claims["jti"]
    assert claims["amr"] == ["pwd"]


def test_each_access_token_has_its_own_jti(api: Api, customer: Customer) -> None:
    first = verify_with_jwks(api.tokens(customer.email, customer.password).access_token, api.jwks())
    second = verify_with_jwks(api.tokens(customer.email, customer.password).access_token, api.jwks())

    assert first.claims["jti"] != second.claims["jti"]


def test_the_email_is_matched_whatever_its_case_and_surrounding_whitespace(
    api: Api, customer: Customer
) -> None:
    response = api.login(f" {customer.email.upper()}  ", customer.password)

    assert response.status_code == 200
    assert "access_token" in response.json()


def test_a_wrong_password_and_an_unknown_email_get_the_same_401_body(api: Api, customer: Customer) -> None:
    wrong_password = api.login(customer.email, "Not-The-Password-9")
    unknown_email = api.login(unique_email("nobody"), "Not-The-Password-9")

    first = assert_problem(wrong_password, 401, "invalid_credentials")
    second = assert_problem(unknown_email, 401, "invalid_credentials")
    first.pop("request_id")
    second.pop("request_id")
    assert first == second
    assert wrong_password.headers.get("www-authenticate") == unknown_email.headers.get("www-authenticate")


def test_a_password_differing_only_in_unicode_form_still_logs_in(
    api: Api, make_customer: MakeCustomer
) -> None:
    composed = "Crème-Brûlée-Forever"
    customer = make_customer(password=composed)

    decomposed = "Cre\u0300me-Bru\u0302le\u0301e-Forever"
    assert decomposed != composed

    assert api.login(customer.email, decomposed).status_code == 200


def test_a_client_without_auth_login_is_refused_with_403(
    api: Api, customer: Customer, make_shop: MakeShop
) -> None:
    registrar = make_shop(Scope.USERS_WRITE)

    assert_problem(api.login(customer.email, customer.password, shop=registrar), 403, "forbidden")


def test_a_login_without_a_client_token_is_a_401(api: Api, customer: Customer) -> None:
    response = api.http.post("/v1/auth/login", json={"email": customer.email, "password": customer.password})

    assert_problem(response, 401, "unauthorized")


def test_a_users_own_token_cannot_log_in_on_behalf_of_anyone(api: Api, customer: Customer) -> None:
    user = api.tokens(customer.email, customer.password)

    response = api.http.post(
        "/v1/auth/login", json={"email": customer.email, "password": customer.password}, headers=user.headers
    )

    assert_problem(response, 403, "forbidden")


# -- passwords on the blocklist, and hashes imported from a shop's old platform ------------------------


@pytest.fixture
def import_customer(workplace: Workplace, credentials: Credentials) -> ImportCustomer:
    """Import an account with a shop's old password hash, as ``privacy-service users import`` does."""

    def run(legacy_hash: str) -> str:
        email = unique_email("imported")
        with workplace.open() as work:
            accounts.import_user(
                work,
                emails=credentials.emails,
                hasher=credentials.passwords.hasher,
                email=email,
                legacy_hash=legacy_hash,
                profile={"country": "FR"},
            )
        return email

    return run


@pytest.fixture
def stored_password_kind(sessions: sessionmaker[Session], credentials: Credentials) -> PasswordKind:
    """The kind byte of the peppered password stored for an email: argon2id or legacy."""

    def read(email: str) -> int:
        with sessions() as session:
            user = accounts.find_user_by_email(session=session, emails=credentials.emails, email=email)
            assert user is not None
            return session.get_one(User, user.id).password[1]

    return read


def django_pbkdf2_sha256(password: str, *, salt: str = "Qm9yZGVhdXg", iterations: int = 1000) -> str:
    """The string Django's PBKDF2PasswordHasher stores (a low iteration count keeps the test fast)."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def test_a_correct_but_blocklisted_password_logs_in_and_asks_for_a_change(
    api: Api, import_customer: ImportCustomer
) -> None:
    email = import_customer(bcrypt.hashpw(b"sunshine", bcrypt.gensalt(rounds=4)).decode())

    response = api.login(email, "sunshine")

    assert response.status_code == 200
    assert response.json()["password_change_required"] is True
    assert "access_token" in response.json()


@pytest.mark.parametrize(
    "legacy_hash",
    [
        pytest.param(bcrypt.hashpw(b"Old-Shop-Secret-1", bcrypt.gensalt(rounds=4)).decode(), id="bcrypt-2b"),
        pytest.param(
            bcrypt.hashpw(b"Old-Shop-Secret-1", bcrypt.gensalt(rounds=4, prefix=b"2a")).decode(),
            id="bcrypt-2a",
        ),
        pytest.param(django_pbkdf2_sha256("Old-Shop-Secret-1"), id="django-pbkdf2-sha256"),
    ],
)
def test_an_imported_legacy_hash_logs_in_and_is_upgraded_to_argon2id(
    api: Api, import_customer: ImportCustomer, stored_password_kind: PasswordKind, legacy_hash: str
) -> None:
    email = import_customer(legacy_hash)
    assert stored_password_kind(email) == LEGACY_KIND

    first = api.login(email, "Old-Shop-Secret-1")

    assert first.status_code == 200, first.text
    assert first.json()["password_change_required"] is False
    assert stored_password_kind(email) == ARGON2ID_KIND
    assert api.login(email, "Old-Shop-Secret-1").status_code == 200


def test_a_wrong_password_on_an_imported_account_is_refused_and_keeps_the_legacy_hash(
    api: Api, import_customer: ImportCustomer, stored_password_kind: PasswordKind
) -> None:
    email = import_customer(django_pbkdf2_sha256("Old-Shop-Secret-1"))

    assert_problem(api.login(email, "old-shop-secret-1"), 401, "invalid_credentials")
    assert stored_password_kind(email) == LEGACY_KIND


# -- throttling ------------------------------------------------------------------------------------


def fail_until_the_window_is_full(
    api: Api, customer: Customer, clock: FrozenClock, *, failures: int = 10
) -> None:
    """Make ``failures`` wrong guesses, each once the growing delay of the previous ones has passed."""
    limits = ThrottleLimits.default()
    for attempt in range(failures):
        # 0 s for the first three, then 1, 2, 4 ... s: 127 s in all, well inside the 15-minute window.
        clock.advance(timedelta(seconds=limits.delay_after(attempt)))
        response = api.login(customer.email, f"Wrong-Guess-{attempt}")
        assert_problem(response, 401, "invalid_credentials")


def test_after_three_failures_the_next_attempt_waits_with_429_and_retry_after(
    api: Api, customer: Customer
) -> None:
    for attempt in range(3):
        assert_problem(api.login(customer.email, f"Wrong-Guess-{attempt}"), 401, "invalid_credentials")

    throttled = api.login(customer.email, customer.password)

    assert_problem(throttled, 429, "rate_limited")
    assert int(throttled.headers["retry-after"]) >= 1


def test_after_ten_failures_even_the_right_password_is_refused_with_429(
    api: Api, customer: Customer, clock: FrozenClock
) -> None:
    fail_until_the_window_is_full(api, customer, clock)

    throttled = api.login(customer.email, customer.password)

    assert_problem(throttled, 429, "rate_limited")
    retry_after = int(throttled.headers["retry-after"])
    assert 1 <= retry_after <= 15 * 60


def test_the_account_opens_again_by_itself_once_the_window_has_passed(
    api: Api, customer: Customer, clock: FrozenClock
) -> None:
    fail_until_the_window_is_full(api, customer, clock)
    throttled = api.login(customer.email, customer.password)
    assert throttled.status_code == 429

    clock.advance(timedelta(seconds=int(throttled.headers["retry-after"])))

    response = api.login(customer.email, customer.password)
    assert response.status_code == 200, response.text
    assert "access_token" in response.json()


def test_no_permanent_lock_out_after_fifteen_minutes(
    api: Api, customer: Customer, clock: FrozenClock
) -> None:
    fail_until_the_window_is_full(api, customer, clock)
    assert api.login(customer.email, customer.password).status_code == 429

    clock.advance(timedelta(minutes=15, seconds=1))

    assert api.login(customer.email, customer.password).status_code == 200


def test_a_throttled_attempt_is_refused_before_the_password_is_checked_and_adds_no_failure(
    api: Api, customer: Customer, clock: FrozenClock
) -> None:
    fail_until_the_window_is_full(api, customer, clock)
    for attempt in range(5):
        assert api.login(customer.email, f"Still-Guessing-{attempt}").status_code == 429

    clock.advance(timedelta(minutes=15, seconds=1))

    # The refused guesses counted nothing: the account has its full allowance back at once.
    assert_problem(api.login(customer.email, "One-More-Wrong-Guess"), 401, "invalid_credentials")


def test_an_unknown_email_is_throttled_like_a_known_one(api: Api, clock: FrozenClock) -> None:
    nobody = unique_email("nobody")
    for attempt in range(3):
        assert_problem(api.login(nobody, f"Wrong-Guess-{attempt}"), 401, "invalid_credentials")

    assert_problem(api.login(nobody, "Wrong-Guess-4"), 429, "rate_limited")


def test_one_accounts_throttle_does_not_lock_another_account_out(
    api: Api, customer: Customer, make_customer: MakeCustomer, clock: FrozenClock
) -> None:
    other = make_customer()
    fail_until_the_window_is_full(api, customer, clock)

    assert api.login(other.email, other.password).status_code == 200


def test_fifty_failures_from_one_end_user_ip_throttle_that_ip_across_accounts(
    api: Api, customer: Customer
) -> None:
    # Credential stuffing: one guess each at 50 different accounts (none throttled on its own) from one IP.
    for attempt in range(50):
        response = api.login(unique_email("victim"), f"Stuffed-Password-{attempt}", ip="203.0.113.7")
        assert_problem(response, 401, "invalid_credentials")

    from_that_ip = api.login(customer.email, customer.password, ip="203.0.113.7")
    from_elsewhere = api.login(customer.email, customer.password, ip="198.51.100.20")
    without_context = api.login(customer.email, customer.password)

    assert_problem(from_that_ip, 429, "rate_limited")
    assert int(from_that_ip.headers["retry-after"]) >= 1
    assert from_elsewhere.status_code == 200
    assert without_context.status_code == 200


def test_the_user_agent_of_the_login_context_is_shown_in_the_users_sessions(
    api: Api, customer: Customer
) -> None:
    tokens = api.tokens(customer.email, customer.password, user_agent=CHROME)

    items = api.http.get("/v1/me/sessions", headers=tokens.headers).json()["items"]

    assert [item["user_agent"] for item in items] == [CHROME]
