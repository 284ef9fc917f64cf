"""The claims a JWT of this service must carry, judged after its signature verified (RFC 7519 §4.1, §7.2).

``check_claims`` is the policy ``TokenIssuer.verify_jwt`` applies; here each
rule is shown on its own, with a refusal naming the claim that failed. The
signed-token paths (expiry, leeway, audience, issuer) are in test_tokens.py.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from privacy_service.identity.errors import InvalidToken
from privacy_service.identity.tokens import check_claims

NOW = 1_800_000_000
LEEWAY = 30
ISSUER = "https://privacy.example.test"
SHOP = "01jshopclient0000000000001"
VALID: dict[str, Any] = {
    "iss": ISSUER,
    "sub": "01juser0000000000000000001",
    "aud": SHOP,
    "exp": NOW + 300,
    "iat": NOW,
    "jti": "01jtoken000000000000000001",
}


def check(claims: dict[str, Any], audience: str | None = SHOP) -> None:
    check_claims(claims, now=NOW, leeway=LEEWAY, issuer=ISSUER, audience=audience)


def refusal(claims: dict[str, Any], audience: str | None = SHOP) -> str:
    with pytest.raises(InvalidToken) as refused:
        check(claims, audience)
    return refused.value.detail


def test_a_token_with_every_claim_right_passes() -> None:
    check(VALID)
    check({**VALID, "aud": ["another-shop", SHOP], "nbf": NOW + LEEWAY, "exp": NOW - LEEWAY + 0.5})
    check({**VALID, "aud": "another-shop"}, audience=None)


def test_missing_or_null_claims_are_all_named_in_order() -> None:
    claims = {**VALID, "sub": None}
    del claims["aud"], claims["jti"]
    assert refusal(claims) == "invalid claim: aud,jti,sub"


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({"iss": "https://staging.example.test"}, "iss"),
        ({"iss": ""}, "iss"),
        ({"iss": ["https://privacy.example.test"]}, "iss"),
        ({"sub": ""}, "sub"),
        ({"sub": 7}, "sub"),
        ({"jti": ""}, "jti"),
        ({"jti": ["a"]}, "jti"),
        ({"aud": "another-shop"}, "aud"),
        ({"aud": ""}, "aud"),
        ({"aud": []}, "aud"),
        ({"aud": ["another-shop"]}, "aud"),
        ({"aud": [SHOP, 7]}, "aud"),
        ({"aud": {"shop": SHOP}}, "aud"),
        ({"exp": "tomorrow"}, "exp"),
        ({"exp": True}, "exp"),
        ({"exp": math.inf}, "exp"),
        ({"exp": math.nan}, "exp"),
        ({"iat": NOW + LEEWAY + 1}, "iat"),
        ({"iat": "now"}, "iat"),
        ({"iat": False}, "iat"),
        ({"nbf": NOW + LEEWAY + 1}, "nbf"),
        ({"nbf": None}, "nbf"),
    ],
    ids=repr,
)
def test_a_claim_of_the_wrong_type_or_value_is_refused_by_name(change: dict[str, Any], failed: str) -> None:
    assert refusal({**VALID, **change}) == f"invalid claim: {failed}"


@pytest.mark.parametrize("exp", [NOW - LEEWAY, NOW - LEEWAY - 0.5, 0])
def test_a_token_expired_beyond_the_leeway_is_refused_as_expired(exp: float) -> None:
    assert refusal({**VALID, "exp": exp}) == "token expired"


def test_claims_are_judged_in_the_order_the_token_gives_them() -> None:
    assert refusal({"sub": "", **{**VALID, "sub": ""}, "aud": "another-shop"}) == "invalid claim: sub"
    assert (
        refusal({"aud": "another-shop", **{**VALID, "aud": "another-shop"}, "sub": ""})
        == "invalid claim: aud"
    )


def test_claims_of_other_names_are_left_to_the_caller() -> None:
    check({**VALID, "scope": "", "roles": 7, "client_id": None})
