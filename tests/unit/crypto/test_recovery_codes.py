"""Recovery codes: ten single-use codes, stored as keyed digests, matched however they are typed."""

from __future__ import annotations

import math
import re

import pytest

from privacy_service.crypto import InvalidCode, RecoveryCodes, generate_key, normalise_code
from privacy_service.crypto.recovery_codes import ALPHABET, CODE_LENGTH

PEPPER = bytes(range(32))
ACCOUNT = "01jk2m3n4p5q6r7s8t9v0w1x2y"


@pytest.fixture
def recovery() -> RecoveryCodes:
    return RecoveryCodes(pepper_key=PEPPER)


def test_ten_codes_are_issued_grouped_from_the_unambiguous_alphabet(recovery: RecoveryCodes) -> None:
    issued = recovery.issue(account_id=ACCOUNT)
    assert len(issued.codes) == len(issued.digests) == 10
    assert len(set(issued.codes)) == 10
    for code in issued.codes:
        assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}", code)
    assert all(len(digest) == 32 for digest in issued.digests)


def test_a_code_carries_at_least_50_bits() -> None:
    assert CODE_LENGTH * math.log2(len(set(ALPHABET))) >= 50
    assert not set("ilou") & set(ALPHABET)


def test_each_issued_code_matches_its_own_slot(recovery: RecoveryCodes) -> None:
    issued = recovery.issue(account_id=ACCOUNT)
    for index, code in enumerate(issued.codes):
        assert recovery.match(code, issued.digests, account_id=ACCOUNT) == index


def test_the_digest_never_contains_the_code_and_the_repr_hides_both(recovery: RecoveryCodes) -> None:
    issued = recovery.issue(account_id=ACCOUNT, count=1)
    assert issued.codes[0].replace("-", "").encode() not in issued.digests[0]
    assert issued.codes[0] not in repr(issued)
    assert repr(recovery) == "RecoveryCodes()"


@pytest.mark.parametrize(
    "typed",
    [
        "abcde-fgh10",
        "ABCDE-FGH10",
        "abcdefgh10",
        " abcde fgh10 ",
        "ABCDE-FGHLO",
        "abcde-fghio",
        "\uff21bcde-fgh10",
    ],
)
def test_case_spaces_dashes_and_look_alike_letters_do_not_matter(recovery: RecoveryCodes, typed: str) -> None:
    assert normalise_code(typed) == "abcdefgh10"
    stored = [recovery.digest("abcde-fgh10", account_id=ACCOUNT)]
    assert recovery.match(typed, stored, account_id=ACCOUNT) == 0


@pytest.mark.parametrize(
    "typed", ["", "abcde-fgh1", "abcde-fgh100", "abcde-fghu0", "abcde-fgh!0", "abcde_fgh10"]
)
def test_something_that_cannot_be_a_code_is_an_invalid_code(recovery: RecoveryCodes, typed: str) -> None:
    with pytest.raises(InvalidCode) as raised:
        recovery.match(typed, [recovery.digest("abcde-fgh10", account_id=ACCOUNT)], account_id=ACCOUNT)
    assert (raised.value.code, raised.value.status) == ("invalid_code", 401)


def test_a_wrong_code_is_an_invalid_code(recovery: RecoveryCodes) -> None:
    issued = recovery.issue(account_id=ACCOUNT)
    with pytest.raises(InvalidCode, match="does not match"):
        recovery.match("zzzzz-zzzzz", issued.digests, account_id=ACCOUNT)


def test_no_stored_codes_match_nothing(recovery: RecoveryCodes) -> None:
    with pytest.raises(InvalidCode):
        recovery.match("abcde-fgh10", [], account_id=ACCOUNT)


def test_a_used_code_removed_by_the_caller_no_longer_matches(recovery: RecoveryCodes) -> None:
    issued = recovery.issue(account_id=ACCOUNT)
    index = recovery.match(issued.codes[3], issued.digests, account_id=ACCOUNT)
    remaining = [digest for position, digest in enumerate(issued.digests) if position != index]
    with pytest.raises(InvalidCode):
        recovery.match(issued.codes[3], remaining, account_id=ACCOUNT)


def test_the_first_matching_slot_is_reported_when_digests_repeat(recovery: RecoveryCodes) -> None:
    digest = recovery.digest("abcde-fgh10", account_id=ACCOUNT)
    other = recovery.digest("zzzzz-zzzzz", account_id=ACCOUNT)
    assert recovery.match("abcde-fgh10", [other, digest, digest], account_id=ACCOUNT) == 1


def test_a_digest_copied_to_another_account_does_not_match(recovery: RecoveryCodes) -> None:
    issued = recovery.issue(account_id="attacker")
    with pytest.raises(InvalidCode):
        recovery.match(issued.codes[0], issued.digests, account_id=ACCOUNT)


def test_without_the_pepper_the_digests_match_nothing(recovery: RecoveryCodes) -> None:
    issued = recovery.issue(account_id=ACCOUNT)
    with pytest.raises(InvalidCode):
        RecoveryCodes(pepper_key=generate_key()).match(issued.codes[0], issued.digests, account_id=ACCOUNT)


def test_a_code_needs_an_account(recovery: RecoveryCodes) -> None:
    with pytest.raises(ValueError, match="account_id"):
        recovery.issue(account_id="")


def test_the_digest_of_a_code_never_changes(recovery: RecoveryCodes) -> None:
    """Stored digests must keep matching across releases."""
    digest = recovery.digest("abcde-fgh10", account_id=ACCOUNT)
    assert digest.hex() == "c5192e2221b083837fdfc6f4ff168bae1b0d24a86851f3a6e9efb4df197c56ac"
