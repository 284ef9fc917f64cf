"""Password hashing: argon2id peppered, bound to its account, legacy hashes upgraded."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher as Argon2Hasher
from argon2 import extract_parameters

from privacy_service.crypto import (
    Argon2Parameters,
    DecryptionFailed,
    InsecureHashParameters,
    InvalidPassword,
    LegacyScheme,
    MalformedCiphertext,
    PasswordHasher,
    UnsupportedHashFormat,
    VerifyResult,
    generate_key,
    normalise_password,
)
from privacy_service.crypto.passwords import MAX_PASSWORD_LENGTH, OWASP_MIN_MEMORY_KIB, OWASP_MIN_TIME_COST

PEPPER = bytes(range(32))
ACCOUNT = "01jk2m3n4p5q6r7s8t9v0w1x2y"
# Openwall crypt_blowfish test vector: bcrypt of "U*U".
BCRYPT_U_U = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(pepper_key=PEPPER, parameters=Argon2Parameters.for_tests())


# Parameters


def test_production_parameters_are_owasps_argon2id_minimum() -> None:
    parameters = Argon2Parameters.production()
    assert (parameters.memory_kib, parameters.time_cost, parameters.parallelism) == (19_456, 2, 1)
    assert not parameters.insecure_for_tests


@pytest.mark.parametrize(
    ("time_cost", "memory_kib"),
    [(OWASP_MIN_TIME_COST - 1, OWASP_MIN_MEMORY_KIB), (OWASP_MIN_TIME_COST, OWASP_MIN_MEMORY_KIB - 1)],
)
def test_parameters_below_owasps_minimum_are_refused(time_cost: int, memory_kib: int) -> None:
    with pytest.raises(InsecureHashParameters) as raised:
        Argon2Parameters(time_cost=time_cost, memory_kib=memory_kib, parallelism=1)
    assert raised.value.code == "insecure_hash_parameters"


def test_test_parameters_say_so_wherever_they_are_printed() -> None:
    parameters = Argon2Parameters.for_tests()
    assert parameters.insecure_for_tests
    assert "insecure_for_tests=True" in repr(PasswordHasher(pepper_key=PEPPER, parameters=parameters))


@pytest.mark.parametrize(
    ("time_cost", "memory_kib", "parallelism"),
    [(1, 8, 0), (1, 2048, 256), (0, 8, 1), (1, 15, 2)],
)
def test_parameters_argon2_cannot_run_are_refused(time_cost: int, memory_kib: int, parallelism: int) -> None:
    with pytest.raises(ValueError, match="argon2"):
        Argon2Parameters(
            time_cost=time_cost, memory_kib=memory_kib, parallelism=parallelism, insecure_for_tests=True
        )


# Hash and verify


def test_a_hashed_password_verifies_and_needs_no_rehash(hasher: PasswordHasher) -> None:
    peppered = hasher.hash("correct horse battery staple", account_id=ACCOUNT)
    result = hasher.verify(peppered, "correct horse battery staple", account_id=ACCOUNT)
    assert not result.needs_rehash
    assert result.legacy_scheme is None


def test_a_wrong_password_raises_invalid_credentials(hasher: PasswordHasher) -> None:
    peppered = hasher.hash("correct horse battery staple", account_id=ACCOUNT)
    with pytest.raises(InvalidPassword) as raised:
        hasher.verify(peppered, "correct horse battery stapler", account_id=ACCOUNT)
    assert (raised.value.code, raised.value.status) == ("invalid_credentials", 401)


@pytest.mark.parametrize(
    ("registered", "typed"),
    [
        ("caf\u00e9 au lait", "cafe\u0301 au lait"),  # composed and decomposed é
        ("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11", "password1"),  # fullwidth forms
        ("\u2460\u2461\u2462 secret", "123 secret"),  # circled digits
    ],
)
def test_passwords_are_compared_after_nfkc(hasher: PasswordHasher, registered: str, typed: str) -> None:
    """NIST SP 800-63B §5.1.1.2: normalise before hashing, so keyboards and input methods do not matter."""
    peppered = hasher.hash(registered, account_id=ACCOUNT)
    hasher.verify(peppered, typed, account_id=ACCOUNT)


def test_normalisation_keeps_case_and_spaces() -> None:
    assert normalise_password(" Pass Word ") == " Pass Word "


@pytest.mark.parametrize("typed", ["Correct horse", "correct horse ", "correcthorse"])
def test_case_and_spaces_are_part_of_the_password(hasher: PasswordHasher, typed: str) -> None:
    peppered = hasher.hash("correct horse", account_id=ACCOUNT)
    with pytest.raises(InvalidPassword):
        hasher.verify(peppered, typed, account_id=ACCOUNT)


def test_any_unicode_hashes_including_a_lone_surrogate(hasher: PasswordHasher) -> None:
    for password in ("\U0001f512 \u5bc6\u7801 \u0639\u0631\u0628\u064a", "\ud800 lone", ""):
        hasher.verify(hasher.hash(password, account_id=ACCOUNT), password, account_id=ACCOUNT)


def test_the_stored_value_is_peppered_not_a_readable_hash(hasher: PasswordHasher) -> None:
    first = hasher.hash("correct horse battery staple", account_id=ACCOUNT)
    second = hasher.hash("correct horse battery staple", account_id=ACCOUNT)
    assert first != second
    assert first[:2] == b"\x01\x01"
    assert b"argon2" not in first


def test_a_changed_parameter_asks_for_a_rehash(hasher: PasswordHasher) -> None:
    peppered = hasher.hash("correct horse battery staple", account_id=ACCOUNT)
    stronger = PasswordHasher(
        pepper_key=PEPPER,
        parameters=Argon2Parameters(time_cost=2, memory_kib=16, parallelism=1, insecure_for_tests=True),
    )
    assert stronger.verify(peppered, "correct horse battery staple", account_id=ACCOUNT).needs_rehash
    rehashed = stronger.hash("correct horse battery staple", account_id=ACCOUNT)
    assert not stronger.verify(rehashed, "correct horse battery staple", account_id=ACCOUNT).needs_rehash


def test_a_password_over_the_hard_limit_is_refused_without_hashing(hasher: PasswordHasher) -> None:
    longest = "a" * MAX_PASSWORD_LENGTH
    peppered = hasher.hash(longest, account_id=ACCOUNT)
    hasher.verify(peppered, longest, account_id=ACCOUNT)
    with pytest.raises(ValueError, match="at most"):
        hasher.hash(longest + "a", account_id=ACCOUNT)
    with pytest.raises(InvalidPassword):
        hasher.verify(peppered, longest + "a", account_id=ACCOUNT)


# Values peppered by earlier releases (format 1) must keep opening.
PEPPERED_ARGON2ID = bytes.fromhex(
    "010169f21d2e7b751704e522a59931321f02a6a3b918675db93ed929149a7e1d62eadbf4d895d7306c41430ca778c68ce410"
    "710491a182b5999539fcf35be96a0805511405c5929046053f461b7ba97dec86eceb90fe97b172f770568fc0d8ea3d7e9f2f"
    "7915faf66bb5efcdd57534f17250b3fb0e6cdd27939f5d"
)
PEPPERED_BCRYPT_U_U = bytes.fromhex(
    "010211ba43fce5f8f849c67f37625ef2017420d8ae23bcc821c28c362f4bb83debf707876fd8f04efee9fdadbd7693db040e"
    "8e3b4013c54cb3e14a32c79b3c8c8f4c71fd9f80985512096592971b49f76cee2738786f3044fa26"
)


def test_values_peppered_in_format_1_still_open(hasher: PasswordHasher) -> None:
    assert hasher.verify(
        PEPPERED_ARGON2ID, "correct horse battery staple", account_id=ACCOUNT
    ) == VerifyResult(needs_rehash=False)
    assert hasher.verify(PEPPERED_BCRYPT_U_U, "U*U", account_id=ACCOUNT).legacy_scheme is LegacyScheme.BCRYPT


# The pepper and the account binding


def test_a_peppered_hash_copied_to_another_account_does_not_open(hasher: PasswordHasher) -> None:
    """An attacker who can write the table cannot give the admin a password they know."""
    attackers = hasher.hash("attacker's own password", account_id="attacker")
    with pytest.raises(DecryptionFailed):
        hasher.verify(attackers, "attacker's own password", account_id=ACCOUNT)


def test_without_the_pepper_a_peppered_hash_does_not_open(hasher: PasswordHasher) -> None:
    peppered = hasher.hash("correct horse battery staple", account_id=ACCOUNT)
    other = PasswordHasher(pepper_key=generate_key(), parameters=Argon2Parameters.for_tests())
    with pytest.raises(DecryptionFailed):
        other.verify(peppered, "correct horse battery staple", account_id=ACCOUNT)


@pytest.mark.parametrize("position", [1, 2, 20, -1])
def test_an_altered_peppered_hash_does_not_open(hasher: PasswordHasher, position: int) -> None:
    peppered = bytearray(hasher.hash("correct horse battery staple", account_id=ACCOUNT))
    peppered[position] ^= 0x03  # at 1 this turns an argon2id hash into a legacy one
    with pytest.raises(DecryptionFailed):
        hasher.verify(bytes(peppered), "correct horse battery staple", account_id=ACCOUNT)


@pytest.mark.parametrize(
    ("peppered", "message"),
    [
        (b"", "truncated"),
        (b"\x01\x01" + bytes(28), "truncated"),
        (b"\x02\x01" + bytes(40), "format 2"),
        (b"\x01\x09" + bytes(40), "kind 9"),
    ],
)
def test_a_value_that_is_no_peppered_hash_is_malformed(
    hasher: PasswordHasher, peppered: bytes, message: str
) -> None:
    with pytest.raises(MalformedCiphertext, match=message):
        hasher.verify(peppered, "anything", account_id=ACCOUNT)


def test_a_hash_needs_an_account(hasher: PasswordHasher) -> None:
    with pytest.raises(ValueError, match="account_id"):
        hasher.hash("correct horse battery staple", account_id="")


# Legacy hashes


def test_an_imported_legacy_hash_verifies_and_asks_to_be_upgraded(hasher: PasswordHasher) -> None:
    peppered = hasher.pepper_legacy(BCRYPT_U_U, account_id=ACCOUNT)
    assert BCRYPT_U_U.encode() not in peppered
    assert peppered[:2] == b"\x01\x02"
    result = hasher.verify(peppered, "U*U", account_id=ACCOUNT)
    assert result.needs_rehash
    assert result.legacy_scheme is LegacyScheme.BCRYPT

    upgraded = hasher.hash("U*U", account_id=ACCOUNT)
    assert hasher.verify(upgraded, "U*U", account_id=ACCOUNT) == VerifyResult(needs_rehash=False)


def test_an_imported_legacy_hash_refuses_a_wrong_password(hasher: PasswordHasher) -> None:
    peppered = hasher.pepper_legacy(BCRYPT_U_U, account_id=ACCOUNT)
    with pytest.raises(InvalidPassword):
        hasher.verify(peppered, "U*U*", account_id=ACCOUNT)


def test_a_legacy_hash_is_checked_as_written_without_normalisation(hasher: PasswordHasher) -> None:
    # Django's published vector hashes "lètmein" with a composed è; the old platform never normalised.
    peppered = hasher.pepper_legacy(
        "pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=", account_id=ACCOUNT
    )
    hasher.verify(peppered, "l\u00e8tmein", account_id=ACCOUNT)


def test_an_unsupported_legacy_hash_is_refused_at_import(hasher: PasswordHasher) -> None:
    with pytest.raises(UnsupportedHashFormat):
        hasher.pepper_legacy("5f4dcc3b5aa765d61d8327deb882cf99", account_id=ACCOUNT)


# Unknown accounts


def _spy_on_argon2(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    verified: list[str] = []
    original = Argon2Hasher.verify

    def spy(self: Argon2Hasher, hash: str, password: Any) -> bool:
        verified.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(Argon2Hasher, "verify", spy)
    return verified


def test_an_unknown_account_costs_one_argon2id_verification_at_the_current_parameters(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified = _spy_on_argon2(monkeypatch)
    with pytest.raises(InvalidPassword) as raised:
        hasher.dummy_verify("correct horse battery staple")
    assert raised.value.code == "invalid_credentials"
    assert len(verified) == 1
    parameters = extract_parameters(verified[0])
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (1, 8, 1)
    assert parameters.type.name == "ID"


def test_an_overlong_password_is_refused_alike_for_known_and_unknown_accounts(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    peppered = hasher.hash("correct horse battery staple", account_id=ACCOUNT)
    verified = _spy_on_argon2(monkeypatch)
    overlong = "a" * (MAX_PASSWORD_LENGTH + 1)
    with pytest.raises(InvalidPassword):
        hasher.dummy_verify(overlong)
    with pytest.raises(InvalidPassword):
        hasher.verify(peppered, overlong, account_id=ACCOUNT)
    assert verified == []
