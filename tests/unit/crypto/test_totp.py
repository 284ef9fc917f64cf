"""TOTP: RFC 6238 vectors through the real verify, ±1 step of drift, and each code accepted once."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from privacy_service.crypto import InvalidCode, ReplayedCode, TotpAlgorithm, TotpProfile, totp

RFC6238 = json.loads((Path(__file__).parents[2] / "vectors" / "rfc6238_appendix_b.json").read_text())
RFC_CASES = [
    pytest.param(vector, TotpAlgorithm(algorithm), id=f"{algorithm}-{vector['time']}")
    for vector in RFC6238["vectors"]
    for algorithm in RFC6238["seeds"]
]

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 1, 15, 12, 0, 10, tzinfo=UTC)
STEP = int(NOW.timestamp()) // 30
STEP_SECONDS = timedelta(seconds=30)


def _rfc_secret(algorithm: TotpAlgorithm) -> str:
    return base64.b32encode(RFC6238["seeds"][algorithm].encode("ascii")).decode("ascii")


@pytest.mark.parametrize(("vector", "algorithm"), RFC_CASES)
def test_rfc6238_appendix_b_codes_are_generated(vector: dict[str, Any], algorithm: TotpAlgorithm) -> None:
    profile = TotpProfile(digits=8, algorithm=algorithm)
    at = datetime.fromtimestamp(vector["time"], UTC)
    assert totp.time_step(at, profile=profile) == vector["step"]
    assert totp.code_at(_rfc_secret(algorithm), at=at, profile=profile) == vector[algorithm]


@pytest.mark.parametrize(("vector", "algorithm"), RFC_CASES)
def test_rfc6238_appendix_b_codes_verify_to_their_step(
    vector: dict[str, Any], algorithm: TotpAlgorithm
) -> None:
    profile = TotpProfile(digits=8, algorithm=algorithm)
    at = datetime.fromtimestamp(vector["time"], UTC)
    step = totp.verify(_rfc_secret(algorithm), vector[algorithm], at=at, last_used_step=None, profile=profile)
    assert step == vector["step"]


def test_a_new_secret_is_160_random_bits_in_base32() -> None:
    secrets = {totp.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert len(secret) == 32
        assert len(base64.b32decode(secret)) == 20


def test_a_new_secret_works_with_the_default_profile() -> None:
    secret = totp.new_secret()
    code = totp.code_at(secret, at=NOW)
    assert len(code) == 6
    assert totp.verify(secret, code, at=NOW, last_used_step=None) == STEP


def test_the_provisioning_uri_is_what_authenticator_apps_read() -> None:
    uri = totp.provisioning_uri(SECRET, account_name="alice@example.com", issuer="Example Shop")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/Example Shop:alice@example.com"
    assert parse_qs(parts.query) == {"secret": [SECRET], "issuer": ["Example Shop"]}


def test_a_non_default_profile_is_spelled_out_in_the_uri() -> None:
    profile = TotpProfile(digits=8, period=60, algorithm=TotpAlgorithm.SHA256)
    uri = totp.provisioning_uri(SECRET, account_name="alice", issuer="Shop", profile=profile)
    query = parse_qs(urlsplit(uri).query)
    assert (query["algorithm"], query["digits"], query["period"]) == (["SHA256"], ["8"], ["60"])


@pytest.mark.parametrize(
    ("account_name", "issuer"), [("", "Shop"), ("alice", ""), ("a:lice", "Shop"), ("alice", "Sh:op")]
)
def test_a_label_part_that_is_empty_or_has_a_colon_is_refused(account_name: str, issuer: str) -> None:
    with pytest.raises(ValueError, match="colon"):
        totp.provisioning_uri(SECRET, account_name=account_name, issuer=issuer)


def test_the_qr_code_is_a_standalone_svg_that_does_not_spell_out_the_secret() -> None:
    uri = totp.provisioning_uri(SECRET, account_name="alice@example.com", issuer="Example Shop")
    svg = totp.qr_svg(uri)
    root = ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None
    assert SECRET not in svg
    assert "alice" not in svg


# The window: RFC 6238 §5.2


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_one_step_either_side_is_accepted_and_reports_its_own_step(offset: int) -> None:
    code = totp.code_at(SECRET, at=NOW + offset * STEP_SECONDS)
    assert totp.verify(SECRET, code, at=NOW, last_used_step=None) == STEP + offset


@pytest.mark.parametrize("offset", [-2, 2, -10])
def test_a_code_two_or_more_steps_away_is_refused(offset: int) -> None:
    code = totp.code_at(SECRET, at=NOW + offset * STEP_SECONDS)
    with pytest.raises(InvalidCode) as raised:
        totp.verify(SECRET, code, at=NOW, last_used_step=None)
    assert (raised.value.code, raised.value.status) == ("invalid_code", 401)


def test_a_code_for_another_secret_is_refused() -> None:
    code = totp.code_at("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", at=NOW)
    with pytest.raises(InvalidCode):
        totp.verify(SECRET, code, at=NOW, last_used_step=None)


# Replays: a code is valid once


def test_a_totp_code_is_refused_the_second_time_within_its_step() -> None:
    code = totp.code_at(SECRET, at=NOW)
    step = totp.verify(SECRET, code, at=NOW, last_used_step=None)
    with pytest.raises(ReplayedCode) as raised:
        totp.verify(SECRET, code, at=NOW + timedelta(seconds=5), last_used_step=step)
    assert (raised.value.code, raised.value.status) == ("mfa_code_replayed", 401)
    assert isinstance(raised.value, InvalidCode)


def test_an_older_code_is_refused_after_a_newer_one_was_used() -> None:
    older = totp.code_at(SECRET, at=NOW - STEP_SECONDS)
    with pytest.raises(ReplayedCode):
        totp.verify(SECRET, older, at=NOW, last_used_step=STEP)


def test_the_next_steps_code_is_accepted_after_this_one() -> None:
    later = NOW + STEP_SECONDS
    assert totp.verify(SECRET, totp.code_at(SECRET, at=later), at=later, last_used_step=STEP) == STEP + 1


def test_a_code_from_the_previous_step_is_accepted_when_that_step_is_unused() -> None:
    older = totp.code_at(SECRET, at=NOW - STEP_SECONDS)
    assert totp.verify(SECRET, older, at=NOW, last_used_step=STEP - 2) == STEP - 1


# What a code looks like


def test_spaces_inside_a_code_are_ignored() -> None:
    code = totp.code_at(SECRET, at=NOW)
    assert totp.verify(SECRET, f" {code[:3]} {code[3:]}\n", at=NOW, last_used_step=None) == STEP


@pytest.mark.parametrize(
    "code",
    ["", "12345", "1234567", "abcdef", "12345a", "\u0661\u0662\u0663\u0664\u0665\u0666", "\uff11" * 6],
    ids=[
        "empty",
        "five digits",
        "seven digits",
        "letters",
        "mixed",
        "arabic-indic digits",
        "fullwidth digits",
    ],
)
def test_a_malformed_code_is_an_invalid_code(code: str) -> None:
    with pytest.raises(InvalidCode, match="expected length"):
        totp.verify(SECRET, code, at=NOW, last_used_step=None)


def test_time_must_carry_its_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        totp.verify(SECRET, "123456", at=NOW.replace(tzinfo=None), last_used_step=None)
