"""Access tokens and signing keys: what a shop can verify, what a forger cannot, and how keys rotate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, KeySetSerialization, OKPKey
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from privacy_service.core.clock import FrozenClock
from privacy_service.core.errors import Unavailable
from privacy_service.crypto import DecryptionFailed, LocalKeyFile, WrappedKey
from privacy_service.identity import tokens
from privacy_service.identity.errors import InvalidToken
from privacy_service.identity.models import SigningKey
from privacy_service.identity.scopes import AuthMethod, Role, Scope
from privacy_service.identity.tokens import (
    ACCESS_TOKEN_TYPE,
    UNKNOWN_KID_RELOAD_SECONDS,
    AccessClaims,
    TokenIssuer,
    signing_key_context,
)
from privacy_service.work import Work
from tests.support.clocks import FakeMonotonic

ISSUER = "https://privacy.example.test"
SHOP = "01jshopclient0000000000001"
USER = "01juser0000000000000000001"
LIFETIME = 300
LEEWAY = 30
CACHE = 30.0


def new_issuer(
    key_file: LocalKeyFile, clock: FrozenClock, monotonic: FakeMonotonic, issuer: str = ISSUER
) -> TokenIssuer:
    return TokenIssuer(
        provider=key_file,
        clock=clock,
        issuer=issuer,
        access_token_seconds=LIFETIME,
        leeway_seconds=LEEWAY,
        key_cache_seconds=CACHE,
        monotonic=monotonic,
    )


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def issuer(
    session: Session, key_file: LocalKeyFile, clock: FrozenClock, monotonic: FakeMonotonic
) -> TokenIssuer:
    issuer = new_issuer(key_file, clock, monotonic)
    issuer.ensure_active_key(session=session)
    return issuer


def issue(issuer: TokenIssuer, session: Session, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "subject": USER,
        "audience": SHOP,
        "client_id": SHOP,
        "amr": [AuthMethod.PASSWORD],
        **overrides,
    }
    return issuer.issue_access_token(session=session, **arguments)


def verify(issuer: TokenIssuer, session: Session, token: str, audience: str | None = SHOP) -> AccessClaims:
    return issuer.verify_access_token(session=session, token=token, audience=audience)


def refused(issuer: TokenIssuer, session: Session, token: str, audience: str | None = SHOP) -> str:
    """Verify, expecting a refusal; return its detail (which never carries the token)."""
    with pytest.raises(InvalidToken) as refusal:
        verify(issuer, session, token, audience)
    assert not token or token not in str(refusal.value)
    return refusal.value.detail


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(header + "==")),
        json.loads(base64.urlsafe_b64decode(payload + "==")),
    )


def with_claims(token: str, change: dict[str, Any]) -> str:
    """``token`` with ``change`` made to its claims and its signature left as it was."""
    header, _, signature = token.split(".")
    _, claims = segments(token)
    payload = b64(json.dumps({**claims, **change}, separators=(",", ":")).encode())
    return f"{header}.{payload}.{signature}"


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)])


def kids(jwks: dict[str, list[dict[str, Any]]]) -> list[str]:
    return [key["kid"] for key in jwks["keys"]]


def active_kids(session: Session) -> Sequence[str]:
    return session.scalars(select(SigningKey.kid).where(SigningKey.active.is_(True))).all()


# -- what a shop sees -----------------------------------------------------------------------------


def test_a_shop_verifies_an_access_token_with_a_stock_jose_library_and_only_the_jwks(
    issuer: TokenIssuer, session: Session, clock: FrozenClock
) -> None:
    token = issue(issuer, session, session_id="01jsession00000000000000001")
    published = json.loads(
        json.dumps(issuer.jwks(session=session))
    )  # as GET /.well-known/jwks.json serves it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # joserfc notes RFC 9864 deprecates the "EdDSA" name
        decoded = jwt.decode(token, KeySet.import_key_set(published), algorithms=["EdDSA"])
    jwt.JWTClaimsRegistry(
        now=int(clock.now().timestamp()),
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": SHOP},
        exp={"essential": True},
    ).validate(decoded.claims)

    (key,) = published["keys"]
    # RFC 7638 §3.2: SHA-256 over the required members, sorted, without whitespace (RFC 8037 §2 for OKP).
    members = f'{{"crv":"{key["crv"]}","kty":"{key["kty"]}","x":"{key["x"]}"}}'
    assert key["kid"] == b64(hashlib.sha256(members.encode()).digest())
    assert {key["kty"], key["crv"], key["use"], key["alg"]} == {"OKP", "Ed25519", "sig", "EdDSA"}
    assert "d" not in key
    assert decoded.header == {"alg": "EdDSA", "kid": key["kid"], "typ": "at+jwt"}
    claims = decoded.claims
    assert (claims["iss"], claims["sub"], claims["aud"], claims["client_id"]) == (ISSUER, USER, SHOP, SHOP)
    assert claims["amr"] == ["pwd"]
    assert claims["sid"] == "01jsession00000000000000001"
    assert claims["iat"] == int(clock.now().timestamp())
    assert claims["exp"] - claims["iat"] == LIFETIME
    assert claims["jti"]


def test_verification_returns_what_the_token_was_issued_with(
    issuer: TokenIssuer, session: Session, clock: FrozenClock
) -> None:
    token = issue(
        issuer,
        session,
        amr=[AuthMethod.PASSWORD, AuthMethod.OTP],
        scopes=[Scope.VAULT_READ, Scope.DSR_WRITE],
        roles=[Role.COMPLIANCE_OFFICER],
        session_id="01jsession00000000000000001",
        extra_claims={"auth_time": 1_700_000_000},
    )

    claims = verify(issuer, session, token)

    assert claims.subject == USER
    assert claims.audience == (SHOP,)
    assert claims.client_id == SHOP
    assert claims.amr == (AuthMethod.PASSWORD, AuthMethod.OTP)
    assert claims.scopes == {Scope.VAULT_READ, Scope.DSR_WRITE}
    assert claims.roles == {Role.COMPLIANCE_OFFICER}
    assert claims.session_id == "01jsession00000000000000001"
    assert claims.issued_at == clock.now()
    assert claims.expires_at == clock.now() + timedelta(seconds=LIFETIME)
    assert segments(token)[1]["scope"] == "dsr:write vault:read"
    assert segments(token)[1]["auth_time"] == 1_700_000_000


def test_a_client_token_carries_no_amr_scope_roles_or_session_unless_given(
    issuer: TokenIssuer, session: Session
) -> None:
    token = issue(issuer, session, subject=SHOP, amr=[])

    claims = verify(issuer, session, token)

    assert not {"amr", "scope", "roles", "sid"} & set(segments(token)[1])
    assert (claims.amr, claims.scopes, claims.roles, claims.session_id) == (
        (),
        frozenset(),
        frozenset(),
        None,
    )


def test_every_token_has_its_own_jti(issuer: TokenIssuer, session: Session) -> None:
    assert (
        verify(issuer, session, issue(issuer, session)).jti
        != verify(issuer, session, issue(issuer, session)).jti
    )


def test_without_a_required_audience_any_audience_is_accepted(issuer: TokenIssuer, session: Session) -> None:
    token = issue(issuer, session, audience="another-shop")

    assert verify(issuer, session, token, audience=None).audience == ("another-shop",)


# -- time -------------------------------------------------------------------------------------------


def test_a_token_is_accepted_until_its_expiry_plus_the_leeway(
    issuer: TokenIssuer, session: Session, clock: FrozenClock
) -> None:
    token = issue(issuer, session)

    clock.advance(timedelta(seconds=LIFETIME + LEEWAY - 1))
    assert verify(issuer, session, token).subject == USER
    clock.advance(timedelta(seconds=1))
    assert refused(issuer, session, token) == "token expired"


def test_a_token_issued_in_the_future_beyond_the_leeway_is_refused(
    issuer: TokenIssuer, session: Session, clock: FrozenClock
) -> None:
    clock.advance(timedelta(seconds=LEEWAY + 1))
    token = issue(issuer, session)
    clock.advance(timedelta(seconds=-(LEEWAY + 1)))

    assert refused(issuer, session, token) == "invalid claim: iat"


def test_a_token_within_the_leeway_of_its_issue_time_is_accepted(
    issuer: TokenIssuer, session: Session, clock: FrozenClock
) -> None:
    clock.advance(timedelta(seconds=LEEWAY))
    token = issue(issuer, session)
    clock.advance(timedelta(seconds=-LEEWAY))

    assert verify(issuer, session, token).subject == USER


def test_a_token_not_yet_valid_is_refused(issuer: TokenIssuer, session: Session, clock: FrozenClock) -> None:
    not_before = int(clock.now().timestamp()) + LEEWAY + 1
    token = issue(issuer, session, extra_claims={"nbf": not_before})

    assert refused(issuer, session, token) == "invalid claim: nbf"
    clock.advance(timedelta(seconds=2))
    assert verify(issuer, session, token).subject == USER


# -- claims -----------------------------------------------------------------------------------------


def test_a_token_for_another_audience_is_refused(issuer: TokenIssuer, session: Session) -> None:
    token = issue(issuer, session, audience="another-shop")

    assert refused(issuer, session, token) == "invalid claim: aud"


def test_a_token_from_another_issuer_is_refused(
    issuer: TokenIssuer,
    session: Session,
    key_file: LocalKeyFile,
    clock: FrozenClock,
    monotonic: FakeMonotonic,
) -> None:
    # Same keys, another issuer URL: e.g. a staging deployment restored from production's backup.
    elsewhere = new_issuer(key_file, clock, monotonic, issuer="https://staging.example.test")

    assert refused(issuer, session, issue(elsewhere, session)) == "invalid claim: iss"


def test_another_kind_of_jwt_signed_with_the_same_keys_is_not_an_access_token(
    issuer: TokenIssuer, session: Session
) -> None:
    """RFC 9068 §4: the typ header tells an access token from, say, an approval token."""
    approval = issuer.sign_jwt(
        session=session,
        token_type="approval+jwt",
        claims={"sub": USER, "aud": SHOP, "client_id": SHOP, "op": "sha256:00"},
        lifetime_seconds=LIFETIME,
    )

    assert refused(issuer, session, approval) == "wrong token type"
    assert issuer.verify_jwt(session=session, token=approval, token_type="approval+jwt", audience=SHOP)["op"]


@pytest.mark.parametrize("missing", ["sub", "aud"])
def test_a_token_without_a_required_claim_is_refused(
    issuer: TokenIssuer, session: Session, missing: str
) -> None:
    claims = {"sub": USER, "aud": SHOP, "client_id": SHOP}
    del claims[missing]
    token = issuer.sign_jwt(session=session, token_type=ACCESS_TOKEN_TYPE, claims=claims, lifetime_seconds=60)

    assert refused(issuer, session, token, audience=None) == f"invalid claim: {missing}"


@pytest.mark.parametrize(
    "claims",
    [
        {"client_id": None},
        {"client_id": 7},
        {"scope": ["vault:read"]},
        {"scope": "vault:read nonsense:write"},
        {"amr": "pwd"},
        {"amr": ["pwd", "retina"]},
        {"roles": "admin"},
        {"roles": ["admin", "owner"]},
        {"sid": 42},
    ],
    ids=repr,
)
def test_a_signed_token_with_malformed_claims_is_refused(
    issuer: TokenIssuer, session: Session, claims: dict[str, Any]
) -> None:
    base = {"sub": USER, "aud": SHOP, "client_id": SHOP}
    token = issuer.sign_jwt(
        session=session, token_type=ACCESS_TOKEN_TYPE, claims={**base, **claims}, lifetime_seconds=60
    )

    assert refused(issuer, session, token) == "invalid claims"


def test_a_list_audience_is_accepted_when_it_names_the_required_one(
    issuer: TokenIssuer, session: Session
) -> None:
    token = issuer.sign_jwt(
        session=session,
        token_type=ACCESS_TOKEN_TYPE,
        claims={"sub": USER, "aud": ["other", SHOP], "client_id": SHOP},
        lifetime_seconds=60,
    )

    assert verify(issuer, session, token).audience == ("other", SHOP)


def test_the_issuer_sets_iss_iat_exp_and_jti_itself(issuer: TokenIssuer, session: Session) -> None:
    for claim in ("iss", "iat", "exp", "jti"):
        with pytest.raises(ValueError, match="set by the issuer"):
            issuer.sign_jwt(
                session=session, token_type=ACCESS_TOKEN_TYPE, claims={claim: 1}, lifetime_seconds=60
            )
    with pytest.raises(ValueError, match="own claims"):
        issue(issuer, session, extra_claims={"sub": "someone-else"})


@pytest.mark.parametrize("lifetime", [0, -1, LIFETIME + 1])
def test_no_token_outlives_the_publication_margin_of_its_key(
    issuer: TokenIssuer, session: Session, lifetime: int
) -> None:
    with pytest.raises(ValueError, match="at most"):
        issuer.sign_jwt(session=session, token_type="approval+jwt", claims={}, lifetime_seconds=lifetime)


@pytest.mark.parametrize(
    "settings",
    [{"access_token_seconds": 0}, {"leeway_seconds": -1}, {"key_cache_seconds": -1.0}],
    ids=repr,
)
def test_an_issuer_refuses_nonsense_lifetimes(
    key_file: LocalKeyFile, clock: FrozenClock, settings: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        TokenIssuer(provider=key_file, clock=clock, issuer=ISSUER, **settings)


# -- forgeries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", "€.€.€", "e30.e30.e30"])
def test_a_malformed_token_is_refused(issuer: TokenIssuer, session: Session, token: str) -> None:
    assert refused(issuer, session, token) == "malformed token"


def test_an_unsigned_alg_none_token_is_refused(issuer: TokenIssuer, session: Session) -> None:
    header, claims = segments(issue(issuer, session))

    for none in ("none", "None", "NONE"):
        forged = compact({**header, "alg": none}, {**claims, "sub": "admin"})
        assert refused(issuer, session, forged) == "algorithm not allowed"


def test_an_hs256_token_forged_with_the_public_key_as_its_secret_is_refused(
    issuer: TokenIssuer, session: Session
) -> None:
    """Algorithm confusion (RFC 8725 §2.1): the public key is public, so an HMAC over it proves nothing."""
    header, claims = segments(issue(issuer, session))
    (public,) = issuer.jwks(session=session)["keys"]
    candidate_secrets = [
        json.dumps(public).encode(),
        json.dumps(public, sort_keys=True, separators=(",", ":")).encode(),
        base64.urlsafe_b64decode(public["x"] + "=="),
        public["x"].encode(),
    ]

    for secret in candidate_secrets:
        forged_header = b64(json.dumps({**header, "alg": "HS256"}).encode())
        forged_claims = b64(json.dumps({**claims, "roles": ["admin"]}).encode())
        signing_input = f"{forged_header}.{forged_claims}".encode()
        signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
        forged = f"{forged_header}.{forged_claims}.{b64(signature)}"
        assert refused(issuer, session, forged) == "algorithm not allowed"


def test_a_token_signed_by_a_key_this_service_never_published_is_refused(
    issuer: TokenIssuer, session: Session
) -> None:
    header, claims = segments(issue(issuer, session))
    stranger = OKPKey.generate_key("Ed25519", auto_kid=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        own_kid = jwt.encode({**header, "kid": stranger.kid}, claims, stranger, algorithms=["EdDSA"])
        borrowed_kid = jwt.encode(header, claims, stranger, algorithms=["EdDSA"])

    assert refused(issuer, session, own_kid) == "unknown signing key"
    assert refused(issuer, session, borrowed_kid) == "bad signature"


def test_a_token_without_a_kid_is_refused(issuer: TokenIssuer, session: Session) -> None:
    header, claims = segments(issue(issuer, session))
    del header["kid"]

    assert refused(issuer, session, compact(header, claims, b"\x00" * 64)) == "unknown signing key"


def test_a_tampered_payload_is_refused(issuer: TokenIssuer, session: Session) -> None:
    token = issue(issuer, session)
    _, claims = segments(token)

    for change in ({"sub": "someone-else"}, {"roles": ["admin"]}, {"exp": claims["exp"] + 3600}):
        assert refused(issuer, session, with_claims(token, change)) == "bad signature"


def test_a_tampered_signature_is_refused(issuer: TokenIssuer, session: Session) -> None:
    header, payload, signature = issue(issuer, session).split(".")
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=="))
    flipped[0] ^= 1

    assert refused(issuer, session, f"{header}.{payload}.{b64(bytes(flipped))}") == "bad signature"


# -- remembered tokens ------------------------------------------------------------------------------
# A token that passed is remembered and checked again only for its times: each test verifies it first.


def test_a_remembered_token_is_refused_once_it_expires(
    issuer: TokenIssuer, session: Session, clock: FrozenClock
) -> None:
    token = issue(issuer, session)
    assert verify(issuer, session, token).subject == USER

    clock.advance(timedelta(seconds=LIFETIME + LEEWAY))
    assert refused(issuer, session, token) == "token expired"


def test_a_remembered_token_is_refused_while_the_clock_is_before_its_issue_time(
    issuer: TokenIssuer, session: Session, clock: FrozenClock
) -> None:
    token = issue(issuer, session)
    assert verify(issuer, session, token).subject == USER

    clock.advance(timedelta(seconds=-(LEEWAY + 1)))
    assert refused(issuer, session, token) == "invalid claim: iat"


def test_a_remembered_token_is_checked_again_for_another_audience(
    issuer: TokenIssuer, session: Session
) -> None:
    token = issue(issuer, session)
    assert verify(issuer, session, token, audience=None).subject == USER

    assert refused(issuer, session, token, audience="01jothershop0000000000001") == "invalid claim: aud"


def test_a_tampered_copy_of_a_remembered_token_is_refused(issuer: TokenIssuer, session: Session) -> None:
    token = issue(issuer, session)
    assert verify(issuer, session, token).subject == USER

    assert refused(issuer, session, with_claims(token, {"roles": ["admin"]})) == "bad signature"


def test_a_remembered_token_stops_once_its_key_is_withdrawn_and_the_keys_reload(
    issuer: TokenIssuer, session: Session, monotonic: FakeMonotonic
) -> None:
    token = issue(issuer, session)
    assert verify(issuer, session, token).subject == USER

    session.execute(delete(SigningKey))
    assert verify(issuer, session, token).subject == USER  # the keys loaded are trusted until they reload
    monotonic.advance(CACHE)
    assert refused(issuer, session, token) == "unknown signing key"


def test_the_memory_of_verified_tokens_is_bounded_and_forgets_the_oldest_first(
    issuer: TokenIssuer, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of distinct valid tokens must not grow the memory without bound; a forgotten token is
    simply checked in full again."""
    monkeypatch.setattr(tokens, "VERIFIED_TOKENS_REMEMBERED", 2)
    checked_in_full: list[str] = []
    verify_jwt = issuer.verify_jwt

    def counting_verify_jwt(*, token: str, **arguments: Any) -> dict[str, Any]:
        checked_in_full.append(token)
        return verify_jwt(token=token, **arguments)

    monkeypatch.setattr(issuer, "verify_jwt", counting_verify_jwt)
    oldest, middle, newest = (issue(issuer, session) for _ in range(3))
    for token in (oldest, middle, newest):
        assert verify(issuer, session, token).subject == USER
    assert checked_in_full == [oldest, middle, newest]

    for token in (newest, middle, oldest):
        assert verify(issuer, session, token).subject == USER

    assert checked_in_full == [oldest, middle, newest, oldest]  # only the oldest was forgotten


# -- keys at rest -----------------------------------------------------------------------------------


def test_the_private_key_is_stored_only_wrapped_by_the_key_provider(
    issuer: TokenIssuer, session: Session, key_file: LocalKeyFile
) -> None:
    row = session.scalars(select(SigningKey)).one()
    raw = key_file.unwrap(
        WrappedKey(kek_version=row.kek_version, blob=row.private_key),
        associated_data=signing_key_context(row.kid),
    )
    public = json.loads(row.public_jwk)
    private = OKPKey.import_key({**public, "d": b64(raw)})

    # The unwrapped value is the private key: it signs what the published key verifies...
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        signed = jwt.encode({"alg": "EdDSA"}, {"sub": "probe"}, private, algorithms=["EdDSA"])
        assert jwt.decode(signed, OKPKey.import_key(public), algorithms=["EdDSA"]).claims == {"sub": "probe"}
    # ...and it appears nowhere in the row, in raw or base64 form.
    assert len(raw) == 32
    assert raw not in row.private_key
    assert b64(raw) not in row.public_jwk
    assert "d" not in public
    assert row.kek_version == key_file.current_version()
    assert (row.algorithm, row.active, row.kid) == ("EdDSA", True, public["kid"])


def test_a_wrapped_private_key_does_not_unwrap_for_another_kid(
    issuer: TokenIssuer, session: Session, key_file: LocalKeyFile
) -> None:
    row = session.scalars(select(SigningKey)).one()

    with pytest.raises(DecryptionFailed):
        key_file.unwrap(
            WrappedKey(kek_version=row.kek_version, blob=row.private_key),
            associated_data=signing_key_context("another-kid"),
        )


def test_a_public_key_planted_in_the_table_is_neither_published_nor_trusted(
    issuer: TokenIssuer, session: Session, clock: FrozenClock, monotonic: FakeMonotonic
) -> None:
    """Someone who can write to the database but has no KEK cannot add a key that verifies tokens."""
    real_kid = issuer.ensure_active_key(session=session)
    planted = OKPKey.generate_key("Ed25519", parameters={"use": "sig", "alg": "EdDSA"}, auto_kid=True)
    assert planted.kid is not None
    session.add(
        SigningKey(
            kid=planted.kid,
            algorithm="EdDSA",
            public_jwk=json.dumps(planted.as_dict(private=False)),
            private_key=b"\x00" * 60,
            kek_version=1,
            active=False,
            created_at=clock.now(),
            retired_at=clock.now(),
            published_until=clock.now() + timedelta(days=1),
        )
    )
    session.flush()
    header, claims = segments(issue(issuer, session))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        forged = jwt.encode({**header, "kid": planted.kid}, claims, planted, algorithms=["EdDSA"])
    monotonic.advance(CACHE)

    assert kids(issuer.jwks(session=session)) == [real_kid]
    assert refused(issuer, session, forged) == "unknown signing key"


def test_an_active_key_whose_public_half_was_swapped_signs_nothing(
    issuer: TokenIssuer, session: Session, monotonic: FakeMonotonic
) -> None:
    row = session.scalars(select(SigningKey)).one()
    other = OKPKey.generate_key("Ed25519", parameters={"use": "sig", "alg": "EdDSA"})
    row.public_jwk = json.dumps({**other.as_dict(private=False), "kid": row.kid})
    session.flush()
    monotonic.advance(CACHE)

    assert issuer.jwks(session=session) == {"keys": []}
    with pytest.raises(Unavailable):
        issue(issuer, session)


def test_the_jwks_never_carries_a_private_member_even_if_the_row_does(
    issuer: TokenIssuer, session: Session, key_file: LocalKeyFile, monotonic: FakeMonotonic
) -> None:
    row = session.scalars(select(SigningKey)).one()
    raw = key_file.unwrap(
        WrappedKey(kek_version=row.kek_version, blob=row.private_key),
        associated_data=signing_key_context(row.kid),
    )
    row.public_jwk = json.dumps({**json.loads(row.public_jwk), "d": b64(raw)})
    session.flush()
    monotonic.advance(CACHE)

    (published,) = issuer.jwks(session=session)["keys"]
    assert "d" not in published
    assert published["kid"] == row.kid


@pytest.mark.parametrize("public_jwk", ["[]", "not json", '{"kid": "x"}'])
def test_an_unreadable_public_key_row_is_skipped(
    issuer: TokenIssuer, session: Session, monotonic: FakeMonotonic, public_jwk: str
) -> None:
    row = session.scalars(select(SigningKey)).one()
    row.public_jwk = public_jwk
    session.flush()
    monotonic.advance(CACHE)

    assert issuer.jwks(session=session) == {"keys": []}


def test_the_first_token_signed_creates_the_first_key_when_start_up_could_not(
    session: Session, key_file: LocalKeyFile, clock: FrozenClock, monotonic: FakeMonotonic
) -> None:
    issuer = new_issuer(key_file, clock, monotonic)
    assert issuer.jwks(session=session) == {"keys": []}

    token = issue(issuer, session)

    keys = issuer.jwks(session=session)
    (published,) = keys["keys"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        decoded = jwt.decode(
            token, KeySet.import_key_set(cast(KeySetSerialization, keys)), algorithms=["EdDSA"]
        )
    assert decoded.header["kid"] == published["kid"]


def test_ensuring_the_active_key_creates_it_once(
    session: Session, key_file: LocalKeyFile, clock: FrozenClock, monotonic: FakeMonotonic
) -> None:
    issuer = new_issuer(key_file, clock, monotonic)

    first = issuer.ensure_active_key(session=session)

    assert issuer.ensure_active_key(session=session) == first
    assert active_kids(session) == [first]


# -- rotation ---------------------------------------------------------------------------------------


def test_after_rotation_old_tokens_verify_until_their_key_leaves_the_jwks(
    issuer: TokenIssuer, session: Session, clock: FrozenClock, monotonic: FakeMonotonic, work: Work
) -> None:
    old_kid = issuer.ensure_active_key(session=session)
    old_token = issue(issuer, session)

    new_kid = issuer.rotate_signing_key(work)
    new_token = issue(issuer, session)

    assert new_kid != old_kid
    assert segments(new_token)[0]["kid"] == new_kid
    assert sorted(kids(issuer.jwks(session=session))) == sorted([old_kid, new_kid])
    assert verify(issuer, session, old_token).subject == USER
    assert verify(issuer, session, new_token).subject == USER
    assert active_kids(session) == [new_kid]

    retired = session.get_one(SigningKey, old_kid)
    assert retired.retired_at == clock.now()
    # Other processes may sign with the old key for one more cache interval; its tokens then
    # live their lifetime, and verifiers allow the leeway.
    assert retired.published_until == clock.now() + timedelta(seconds=CACHE + LIFETIME + LEEWAY)

    clock.advance(timedelta(seconds=CACHE + LIFETIME + LEEWAY - 1))
    assert sorted(kids(issuer.jwks(session=session))) == sorted([old_kid, new_kid])
    clock.advance(timedelta(seconds=1))
    assert kids(issuer.jwks(session=session)) == [new_kid]
    assert refused(issuer, session, old_token) == "unknown signing key"
    monotonic.advance(CACHE)  # a fresh load leaves the retired key out altogether
    assert kids(issuer.jwks(session=session)) == [new_kid]


def test_another_process_signs_with_the_rotated_key_once_its_cache_is_stale(
    issuer: TokenIssuer, session: Session, key_file: LocalKeyFile, clock: FrozenClock, work: Work
) -> None:
    other_monotonic = FakeMonotonic()
    other = new_issuer(key_file, clock, other_monotonic)
    old_kid = segments(issue(other, session))[0]["kid"]

    new_kid = issuer.rotate_signing_key(work)

    other_monotonic.advance(CACHE - 1)
    assert segments(issue(other, session))[0]["kid"] == old_kid
    other_monotonic.advance(1)
    assert segments(issue(other, session))[0]["kid"] == new_kid


def test_another_process_verifies_a_token_of_a_key_it_has_not_loaded_yet(
    issuer: TokenIssuer, session: Session, key_file: LocalKeyFile, clock: FrozenClock, work: Work
) -> None:
    other_monotonic = FakeMonotonic()
    other = new_issuer(key_file, clock, other_monotonic)
    verify(other, session, issue(issuer, session))  # the other process has loaded the first key

    issuer.rotate_signing_key(work)
    second = issue(issuer, session)
    assert verify(other, session, second).subject == USER  # at once, without waiting for its cache

    # The reload an unknown kid triggers is rate-limited: right after one, a newer kid waits.
    issuer.rotate_signing_key(work)
    third = issue(issuer, session)
    other_monotonic.advance(UNKNOWN_KID_RELOAD_SECONDS / 2)
    assert refused(other, session, third) == "unknown signing key"
    other_monotonic.advance(UNKNOWN_KID_RELOAD_SECONDS / 2)
    assert verify(other, session, third).subject == USER


def test_when_two_processes_created_a_first_key_at_once_the_newest_signs_and_rotation_retires_both(
    issuer: TokenIssuer,
    session: Session,
    key_file: LocalKeyFile,
    clock: FrozenClock,
    monotonic: FakeMonotonic,
    work: Work,
) -> None:
    first = issuer.ensure_active_key(session=session)
    clock.advance(timedelta(seconds=1))
    second = new_issuer(key_file, clock, FakeMonotonic()).rotate_signing_key(work)
    session.get_one(SigningKey, first).active = True  # as if the two start-ups had raced
    session.get_one(SigningKey, first).published_until = None
    session.flush()
    monotonic.advance(CACHE)

    assert segments(issue(issuer, session))[0]["kid"] == second
    assert sorted(kids(issuer.jwks(session=session))) == sorted([first, second])

    third = issuer.rotate_signing_key(work)
    assert active_kids(session) == [third]
