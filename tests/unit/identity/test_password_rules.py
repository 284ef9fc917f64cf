"""Password rules after NIST SP 800-63B §5.1.1.2: length, any Unicode, a blocklist, not the email name."""

from __future__ import annotations

import pytest

from privacy_service.core.errors import DomainError
from privacy_service.identity import password_rules
from privacy_service.identity.password_rules import (
    PasswordBlocklisted,
    PasswordContainsEmail,
    PasswordPolicy,
    PasswordRejected,
    PasswordTooLong,
    PasswordTooShort,
    is_blocklisted,
)

CUSTOMERS = PasswordPolicy.for_customers()
STAFF = PasswordPolicy.for_staff()
EMAIL = "alice.smith@example.com"


def test_each_refusal_is_a_named_422_with_a_stable_code() -> None:
    errors = [PasswordTooShort, PasswordTooLong, PasswordBlocklisted, PasswordContainsEmail]
    assert [error.code for error in errors] == [
        "password_too_short",
        "password_too_long",
        "password_blocklisted",
        "password_contains_email",
    ]
    assert all(issubclass(error, PasswordRejected) and error.status == 422 for error in errors)
    assert issubclass(PasswordRejected, DomainError)


# Length, counted in code points after NFKC


def test_a_customer_password_needs_8_characters() -> None:
    with pytest.raises(PasswordTooShort) as raised:
        CUSTOMERS.check("vq7#Lm2", email=EMAIL)
    assert raised.value.detail == "a password needs at least 8 characters"
    assert raised.value.extensions == {"minimum_length": 8}
    CUSTOMERS.check("vq7#Lm2p", email=EMAIL)


def test_a_staff_password_needs_12_characters() -> None:
    with pytest.raises(PasswordTooShort, match="at least 12"):
        STAFF.check("vq7#Lm2p-x9z"[:11], email=None)
    STAFF.check("vq7#Lm2p-x9z", email=None)


def test_64_characters_are_allowed_and_the_default_bound_is_1024() -> None:
    CUSTOMERS.check("q" * 64, email=EMAIL)
    CUSTOMERS.check("q" * 1024, email=EMAIL)
    with pytest.raises(PasswordTooLong) as raised:
        CUSTOMERS.check("q" * 1025, email=EMAIL)
    assert raised.value.extensions == {"maximum_length": 1024}


def test_a_huge_password_is_refused_before_any_normalising_work() -> None:
    with pytest.raises(PasswordTooLong, match="at most 1024"):
        CUSTOMERS.check("q" * 1_000_000, email=EMAIL)


@pytest.mark.parametrize(
    "password",
    [
        "\u5bc6\u7801\u5bc6\u7801\u5bc6\u7801\u5bc6\u7801",  # 8 CJK characters, 24 bytes
        "\U0001f40e\U0001f50b\U0001f4ce\U0001f9f1\U0001f40e\U0001f50b\U0001f4ce\U0001f9f1",  # 8 emoji
        "\u043f\u0430\u0440\u043e\u043b\u044c \u0434\u043b\u0438\u043d\u043d\u044b\u0439",  # Cyrillic
        "correct horse battery staple",  # no digit, no symbol, no capital: fine
    ],
)
def test_any_unicode_is_allowed_without_composition_rules(password: str) -> None:
    CUSTOMERS.check(password, email=EMAIL)


def test_length_is_counted_after_nfkc_composes_accents() -> None:
    decomposed = "e\u0301" * 7  # 14 code points typed, 7 characters once composed
    with pytest.raises(PasswordTooShort):
        CUSTOMERS.check(decomposed, email=EMAIL)
    CUSTOMERS.check("e\u0301" * 8, email=EMAIL)


# The blocklist


@pytest.mark.parametrize(
    "password", ["password", "Password", "PASSWORD", "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44"]
)
def test_a_common_password_is_refused_whatever_its_case_or_width(password: str) -> None:
    with pytest.raises(PasswordBlocklisted) as raised:
        CUSTOMERS.check(password, email=None)
    assert raised.value.detail == "this password is among the most common ones; choose another"


def test_the_blocklist_holds_at_least_10000_passwords_a_customer_could_choose() -> None:
    blocklist = password_rules._blocklist()
    assert len(blocklist) >= 10_000
    assert sum(1 for entry in blocklist if len(entry) >= 8) >= 10_000


@pytest.mark.parametrize(
    ("password", "expected"), [("qwerty", True), ("Trustno1", True), ("vq7#Lm2p", False)]
)
def test_a_login_can_ask_whether_a_password_is_blocklisted(password: str, expected: bool) -> None:
    """ASVS 4.0.3 2.1.7: at login a blocklisted password still works, but the shop is told to change it."""
    assert is_blocklisted(password) is expected


# The email name


@pytest.mark.parametrize("password", ["alice.smith2024!", "ALICE.SMITH-rocks", "my name is Alice.Smith"])
def test_a_password_containing_the_email_name_is_refused(password: str) -> None:
    with pytest.raises(PasswordContainsEmail) as raised:
        CUSTOMERS.check(password, email=EMAIL)
    assert "alice" not in raised.value.detail.lower()


def test_the_name_before_a_plus_tag_counts_too() -> None:
    with pytest.raises(PasswordContainsEmail):
        CUSTOMERS.check("bobcat-trains-9", email="bob+shop@example.com")
    with pytest.raises(PasswordContainsEmail):
        CUSTOMERS.check("x-bob+shop-trains", email="bob+shop@example.com")


def test_an_email_name_under_3_characters_is_not_a_rule() -> None:
    CUSTOMERS.check("always-alright-7", email="al@example.com")


def test_an_email_without_an_at_sign_is_taken_whole() -> None:
    with pytest.raises(PasswordContainsEmail):
        CUSTOMERS.check("carol-trains-9", email="carol")


def test_the_email_domain_is_not_the_email_name() -> None:
    CUSTOMERS.check("example-trains-9", email=EMAIL)


def test_rules_are_checked_shortest_first() -> None:
    with pytest.raises(PasswordTooShort):
        CUSTOMERS.check("alice", email=EMAIL)


# The policy itself


@pytest.mark.parametrize(
    ("minimum_length", "maximum_length"),
    [(7, 1024), (8, 63), (100, 99), (8, 4097)],
    ids=["minimum under 8", "maximum under 64", "maximum under minimum", "maximum over the hashing limit"],
)
def test_a_policy_nist_forbids_cannot_be_built(minimum_length: int, maximum_length: int) -> None:
    with pytest.raises(ValueError, match="password length"):
        PasswordPolicy(minimum_length=minimum_length, maximum_length=maximum_length)


def test_a_stricter_policy_can_be_configured() -> None:
    policy = PasswordPolicy(minimum_length=16, maximum_length=64)
    with pytest.raises(PasswordTooShort, match="at least 16"):
        policy.check("vq7#Lm2p-x9zk", email=None)
    with pytest.raises(PasswordTooLong, match="at most 64"):
        policy.check("q" * 65, email=None)
