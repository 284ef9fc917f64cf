"""Access tokens: JWTs (RFC 7519) in the RFC 9068 profile, signed with EdDSA keys that the JWKS publishes.

What is identity's lives here: the key rows and their rotation, the cache of
loaded keys, the claims a token must carry and how they are judged (``iss``,
``aud``, the times, ``typ``), and the memory of verified tokens. The JOSE
primitives (key generation, RFC 7638 thumbprints, signing and checking a
compact JWS, EdDSA only) are ``crypto/jws.py``'s; its errors become
``InvalidToken`` here.

A shop verifies a token on its own with ``/.well-known/jwks.json``; this
process verifies with the same keys. Signing keys are Ed25519 (RFC 8037) key
pairs: the private half is stored only wrapped by the key provider and bound
to its ``kid`` (the RFC 7638 thumbprint of the public half), the public half
as a JWK. Exactly one key signs; ``rotate_signing_key`` retires it and keeps
its public half published until every token it may have signed has expired.

Several processes share the keys through the database. Each caches what it
loaded for ``key_cache_seconds`` on a monotonic clock and reloads when stale,
so a rotation reaches every process within that interval without a restart;
a token naming a ``kid`` this process has not loaded yet triggers one early
reload (at most one per ``UNKNOWN_KID_RELOAD_SECONDS``, so made-up key ids
cannot hammer the database).

Verification allows EdDSA and nothing else (RFC 8725 §3.1, held by
``crypto/jws.py``): ``alg: none``
and an HS256 token "signed" with the public key as its secret are refused
before any key is looked at. RFC 9068 §4: the ``typ`` header must be
``at+jwt``, so another JWT signed with these keys (an approval token) is never
taken for an access token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypeGuard, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from privacy_service.core.cache import TtlCache
from privacy_service.core.clock import Clock
from privacy_service.core.errors import Unavailable
from privacy_service.core.ids import new_id
from privacy_service.crypto import (
    JWS_ALGORITHM,
    BadSignature,
    CryptoError,
    JwsAlgorithmNotAllowed,
    JwsPublicKey,
    JwsSigningKey,
    KeyProvider,
    MalformedJws,
    UnknownJwsKey,
    WrappedKey,
    generate_jws_key,
    open_jws_public_key,
    open_jws_signing_key,
    sign_jws,
    verify_jws,
)
from privacy_service.identity.errors import InvalidToken
from privacy_service.identity.models import SigningKey
from privacy_service.identity.scopes import AuthMethod, Role, Scope
from privacy_service.work import Work

log = logging.getLogger(__name__)

ALGORITHM: Final = JWS_ALGORITHM
#: RFC 9068 §2.1: the ``typ`` header of a JWT access token.
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
#: The shortest pause between two reloads triggered by a ``kid`` this process does not know.
UNKNOWN_KID_RELOAD_SECONDS = 1.0

# Claims sign_jwt sets itself (RFC 7519 §4.1): a caller cannot choose them.
_SET_BY_ISSUER = frozenset({"iss", "iat", "exp", "jti"})
# Claims issue_access_token sets from its arguments (RFC 9068 §2.2).
_ACCESS_CLAIMS = frozenset({"sub", "aud", "client_id", "amr", "scope", "roles", "sid"})
_WRAP_CONTEXT = b"privacy-service/signing-key/v1\x00"

_E = TypeVar("_E", bound=StrEnum)


def signing_key_context(kid: str) -> bytes:
    """The associated data binding a wrapped private key to its ``kid``: a blob moved to another row fails."""
    return _WRAP_CONTEXT + kid.encode()


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says (RFC 9068 §2.2, RFC 8176 ``amr``)."""

    subject: str
    audience: tuple[str, ...]
    client_id: str
    amr: tuple[AuthMethod, ...]
    scopes: frozenset[Scope]
    roles: frozenset[Role]
    session_id: str | None
    jti: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _PublishedKey:
    key: JwsPublicKey
    published_until: datetime | None  # None while the key is active

    def published_at(self, moment: datetime) -> bool:
        return self.published_until is None or moment < self.published_until


@dataclass(frozen=True, slots=True)
class _Verified:
    """An access token that passed every check, and the times between which it stays valid."""

    claims: AccessClaims
    valid_from: int  # iat - leeway, in seconds since the epoch
    valid_until: int  # exp + leeway, the first second it is expired (as check_claims counts)


@dataclass(frozen=True, slots=True)
class _KeySnapshot:
    """The keys loaded at one moment, and the access tokens verified with them (forgotten with them)."""

    signing_key: JwsSigningKey | None
    published: Mapping[str, _PublishedKey]
    verified: TtlCache[tuple[bytes, str | None], _Verified]  # by the token's SHA-256 and the audience


#: How many verified access tokens a process remembers (a few MB at most). Without the memory a client
#: token's check costs 1.7-2.3x the CPU (``benchmarks/README.md``, "caches.py").
VERIFIED_TOKENS_REMEMBERED: Final = 4096
_LOADED: Final = "keys"  # the one entry of the cache of loaded keys


@dataclass(frozen=True)
class SignedJwt:
    """A token just signed, and the ``jti`` the issuer drew for it."""

    jti: str
    token: str = field(repr=False)


class TokenIssuer:
    """Signs and verifies this service's JWTs and manages the keys that sign them.

    One instance per process, shared by its threads. ``access_token_seconds``
    is both the lifetime of access tokens and the longest lifetime
    ``sign_jwt`` accepts: a retired key stays published for that long (plus
    the cache interval and the leeway), so no token outlives its key.
    """

    def __init__(
        self,
        *,
        provider: KeyProvider,
        clock: Clock,
        issuer: str,
        access_token_seconds: int = 300,
        leeway_seconds: int = 30,
        key_cache_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if access_token_seconds <= 0 or leeway_seconds < 0 or key_cache_seconds < 0:
            raise ValueError("token lifetimes and intervals must not be negative")
        self._provider = provider
        self._clock = clock
        self.issuer = issuer
        self.access_token_seconds = access_token_seconds
        self.leeway_seconds = leeway_seconds
        self.key_cache_seconds = key_cache_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        # The keys loaded (read and unwrapped): a token's check costs 5-9x the CPU without them
        # (``benchmarks/README.md``, "caches.py").
        self._loaded: TtlCache[str, _KeySnapshot] = TtlCache(
            max_entries=1, ttl_seconds=key_cache_seconds, monotonic=monotonic
        )
        self._forced_reload_at: float | None = None

    # -- signing keys ---------------------------------------------------------------------------

    def ensure_active_key(self, *, session: Session) -> str:
        """Create the first signing key if there is none (at start-up); return the active ``kid``.

        Two processes starting at once may each create one; both are then
        active and published, the newest signs everywhere, and the next
        rotation retires both.
        """
        kid = session.scalar(
            select(SigningKey.kid)
            .where(SigningKey.active.is_(True))
            .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
            .limit(1)
        )
        if kid is not None:
            return kid
        return self._create_key(session=session)

    def rotate_signing_key(self, work: Work) -> str:
        """Make a new key the signing key and return its ``kid``; the old one stays published for a while.

        Other processes keep signing with the old key until their cache is
        stale (``key_cache_seconds``), and its tokens live
        ``access_token_seconds`` plus the verifiers' leeway: the old public key
        stays in the JWKS until then.
        """
        now = self._clock.now()
        published_until = now + timedelta(
            seconds=self.key_cache_seconds + self.access_token_seconds + self.leeway_seconds
        )
        for row in work.session.scalars(select(SigningKey).where(SigningKey.active.is_(True))):
            row.active = False
            row.retired_at = now
            row.published_until = published_until
        kid = self._create_key(session=work.session)
        self._loaded.clear()  # load again on next use: the caller's commit makes the new key visible
        return kid

    def _create_key(self, *, session: Session) -> str:
        key = generate_jws_key()
        kid = key.kid
        wrapped = self._provider.wrap(key.private_key, associated_data=signing_key_context(kid))
        session.add(
            SigningKey(
                kid=kid,
                algorithm=ALGORITHM,
                public_jwk=json.dumps(key.public_jwk, sort_keys=True, separators=(",", ":")),
                private_key=wrapped.blob,
                kek_version=wrapped.kek_version,
                active=True,
                created_at=self._clock.now(),
            )
        )
        session.flush()
        return kid

    def jwks(self, *, session: Session) -> dict[str, list[dict[str, Any]]]:
        """The JSON Web Key Set (RFC 7517 §5): the active key and retired keys still published."""
        now = self._clock.now()
        published = self._current(session=session).published.values()
        return {"keys": [dict(entry.key.jwk) for entry in published if entry.published_at(now)]}

    # -- signing and verifying ------------------------------------------------------------------

    def issue_access_token(
        self,
        *,
        session: Session,
        subject: str,
        audience: str,
        client_id: str,
        amr: Sequence[AuthMethod],
        scopes: Iterable[Scope] = (),
        roles: Iterable[Role] = (),
        session_id: str | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """An RFC 9068 access token for ``subject`` (a user id, or the client id for client_credentials).

        ``amr`` (RFC 8176) is omitted when empty, as are ``scope`` (space-separated,
        RFC 8693 §4.2), ``roles`` (RFC 9068 §2.2.3.1) and ``sid`` (the session,
        so that logout ends the token's validity for this service).
        """
        extra = dict(extra_claims or {})
        if not _ACCESS_CLAIMS.isdisjoint(extra):
            raise ValueError("extra_claims must not set the access token's own claims")
        claims: dict[str, Any] = {**extra, "sub": subject, "aud": audience, "client_id": client_id}
        if amr:
            claims["amr"] = [AuthMethod(method).value for method in amr]
        scope = " ".join(sorted(Scope(name).value for name in scopes))
        if scope:
            claims["scope"] = scope
        role_names = sorted(Role(role).value for role in roles)
        if role_names:
            claims["roles"] = role_names
        if session_id is not None:
            claims["sid"] = session_id
        return self.sign_jwt(
            session=session,
            token_type=ACCESS_TOKEN_TYPE,
            claims=claims,
            lifetime_seconds=self.access_token_seconds,
        )

    def sign_jwt(
        self, *, session: Session, token_type: str, claims: Mapping[str, Any], lifetime_seconds: int
    ) -> str:
        """``signed_jwt``'s token alone."""
        return self.signed_jwt(
            session=session, token_type=token_type, claims=claims, lifetime_seconds=lifetime_seconds
        ).token

    def signed_jwt(
        self, *, session: Session, token_type: str, claims: Mapping[str, Any], lifetime_seconds: int
    ) -> SignedJwt:
        """Sign ``claims`` with the active key, adding ``iss``, ``iat``, ``exp`` and ``jti`` (RFC 7519 §4.1);
        the token and the ``jti`` the issuer drew, for a caller that keeps it (an approval's token).

        ``token_type`` is the ``typ`` header, which tells one kind of token from
        another (RFC 8725 §3.11). Raises ``Unavailable`` when no key is usable.
        """
        if not 0 < lifetime_seconds <= self.access_token_seconds:
            raise ValueError("a token may live at most access_token_seconds, its key's publication margin")
        if not _SET_BY_ISSUER.isdisjoint(claims):
            raise ValueError("iss, iat, exp and jti are set by the issuer")
        key = self._current(session=session).signing_key
        if key is None:
            # No key yet (the database was unreachable at start-up, or it is brand new): make one.
            self.ensure_active_key(session=session)
            self._loaded.clear()
            key = self._current(session=session).signing_key
        if key is None:
            raise Unavailable("no usable token-signing key")
        issued_at, jti = int(self._clock.now().timestamp()), new_id()
        payload = {
            **claims,
            "iss": self.issuer,
            "iat": issued_at,
            "exp": issued_at + lifetime_seconds,
            "jti": jti,
        }
        return SignedJwt(jti=jti, token=sign_jws(key=key, token_type=token_type, claims=payload))

    def verify_access_token(self, *, session: Session, token: str, audience: str | None) -> AccessClaims:
        """Check an access token and return its claims; raises ``InvalidToken`` for anything wrong.

        ``audience`` None accepts any audience (this service's own endpoints
        serve tokens issued to every shop); a ``sid`` it carries is for the
        caller to check with ``sessions.is_session_active``.

        A shop sends the same token with every call for minutes, so a token
        that passed is remembered (by its SHA-256, ``VERIFIED_TOKENS_REMEMBERED``
        of them) and checked again only for its times, against the injected
        clock: what the signature proved cannot change. The memory holds
        only while the same signing keys are loaded: a reload of the keys
        (every ``key_cache_seconds``, or for an unknown ``kid``) forgets it, so
        a key withdrawn from the database stops its tokens as soon as before.
        """
        keys = self._current(session=session)
        remembered_as = (hashlib.sha256(token.encode()).digest(), audience)
        moment = int(self._clock.now().timestamp())
        remembered = keys.verified.get(remembered_as)
        if remembered is not None and remembered.valid_from <= moment < remembered.valid_until:
            return remembered.claims
        verified = self.verify_jwt(
            session=session, token=token, token_type=ACCESS_TOKEN_TYPE, audience=audience
        )
        try:
            claims = _access_claims(verified)
        except (TypeError, ValueError):
            raise InvalidToken("invalid claims") from None
        keys.verified.put(
            remembered_as,
            _Verified(
                claims=claims,
                valid_from=verified["iat"] - self.leeway_seconds,
                valid_until=verified["exp"] + self.leeway_seconds,
            ),
        )
        return claims

    def verify_jwt(
        self, *, session: Session, token: str, token_type: str, audience: str | None
    ) -> dict[str, Any]:
        """Check signature, ``typ``, ``iss``, ``aud``, ``exp``, ``iat``, ``nbf``; return the claims.

        RFC 7519 §7.2 and RFC 8725 §3: the algorithm must be EdDSA, the key one
        this service publishes now, and the times valid within the leeway by
        the injected clock. Raises ``InvalidToken``; its detail names the
        failed check, never the token.
        """
        now = self._clock.now()
        try:
            verified = verify_jws(
                token, key_for=lambda kid: self._verification_key(session=session, kid=kid, now=now)
            )
        except JwsAlgorithmNotAllowed:
            raise InvalidToken("algorithm not allowed") from None
        except UnknownJwsKey:
            raise InvalidToken("unknown signing key") from None
        except BadSignature:
            raise InvalidToken("bad signature") from None
        except MalformedJws:
            raise InvalidToken("malformed token") from None
        if verified.header.get("typ") != token_type:
            raise InvalidToken("wrong token type")
        check_claims(
            verified.claims,
            now=int(now.timestamp()),
            leeway=self.leeway_seconds,
            issuer=self.issuer,
            audience=audience,
        )
        return verified.claims

    # -- the key cache --------------------------------------------------------------------------

    def _verification_key(self, *, session: Session, kid: str, now: datetime) -> JwsPublicKey | None:
        """The published key named ``kid``, or None when this service does not publish it at ``now``."""
        snapshot = self._current(session=session)
        entry = snapshot.published.get(kid)
        if entry is None:
            entry = self._reload_for_unknown_kid(session=session, current=snapshot).published.get(kid)
        if entry is None or not entry.published_at(now):
            return None
        return entry.key

    def _current(self, *, session: Session) -> _KeySnapshot:
        with self._lock:  # one thread loads; the others wait for its keys
            snapshot = self._loaded.get(_LOADED)
            if snapshot is None:
                snapshot = self._load(session=session)
                self._loaded.put(_LOADED, snapshot)
            return snapshot

    def _reload_for_unknown_kid(self, *, session: Session, current: _KeySnapshot) -> _KeySnapshot:
        """Reload now: the token may come from a key another process created since our last load.

        Rate-limited, so a stream of made-up key ids costs one query per interval.
        """
        with self._lock:
            moment = self._monotonic()
            last = self._forced_reload_at
            if last is not None and moment - last < UNKNOWN_KID_RELOAD_SECONDS:
                return current
            self._forced_reload_at = moment
            snapshot = self._load(session=session)
            self._loaded.put(_LOADED, snapshot)
            return snapshot

    def _load(self, *, session: Session) -> _KeySnapshot:
        """Read the active and still-published keys; only keys whose halves verify are trusted.

        A public key is trusted when its ``kid`` is its own thumbprint and the
        private half, wrapped by the key provider for that ``kid``, unwraps: a
        row planted or altered by someone without the KEK signs nothing and is
        never published.
        """
        rows = session.scalars(
            select(SigningKey)
            .where(or_(SigningKey.active.is_(True), SigningKey.published_until > self._clock.now()))
            .order_by(SigningKey.created_at, SigningKey.kid)
        )
        signing_key: JwsSigningKey | None = None
        published: dict[str, _PublishedKey] = {}
        for row in rows:
            try:
                public_key, private_key = self._open(row)
            except (CryptoError, ValueError):
                log.error("signing key %s is not trusted: its stored halves do not verify", row.kid)
                continue
            until = None if row.active else row.published_until
            # Published as parsed, without private members, whatever else the row's JSON holds.
            published[row.kid] = _PublishedKey(key=public_key, published_until=until)
            if row.active:
                signing_key = private_key  # ordered by age: the newest active key signs
        verified: TtlCache[tuple[bytes, str | None], _Verified] = TtlCache(
            max_entries=VERIFIED_TOKENS_REMEMBERED,
            ttl_seconds=self.key_cache_seconds,
            monotonic=self._monotonic,
        )
        return _KeySnapshot(signing_key=signing_key, published=published, verified=verified)

    def _open(self, row: SigningKey) -> tuple[JwsPublicKey, JwsSigningKey]:
        """A row's public and private key; ValueError or CryptoError if they do not verify.

        The public key must be named by its own thumbprint (``open_jws_public_key``),
        and the private half must unwrap under the key provider for that ``kid``.
        """
        public_key = open_jws_public_key(json.loads(row.public_jwk), kid=row.kid)
        raw = self._provider.unwrap(
            WrappedKey(kek_version=row.kek_version, blob=row.private_key),
            associated_data=signing_key_context(row.kid),
        )
        return public_key, open_jws_signing_key(public_key, raw)


#: Claims every JWT of this service carries (RFC 7519 §4.1); ``nbf`` is checked when present.
_REQUIRED_CLAIMS: Final = ("aud", "exp", "iat", "iss", "jti", "sub")


def check_claims(
    claims: Mapping[str, Any], *, now: int, leeway: int, issuer: str, audience: str | None
) -> None:
    """RFC 7519 §4.1 and §7.2: raise ``InvalidToken`` naming the first claim that fails.

    Every required claim must be present and not null; then, in the token's
    own order, ``iss`` must be this issuer, ``sub`` and ``jti`` non-empty
    strings, ``aud`` a non-empty string or list of strings naming
    ``audience`` (any, when None), ``exp`` after ``now - leeway`` ("token
    expired"), ``iat`` and ``nbf`` not after ``now + leeway``. Times are
    NumericDates: finite numbers, never booleans.
    """
    missing = [name for name in _REQUIRED_CLAIMS if claims.get(name) is None]
    if missing:
        raise InvalidToken(f"invalid claim: {','.join(missing)}")
    for name, value in claims.items():
        if name == "exp":
            if not _numeric_date(value):
                raise InvalidToken("invalid claim: exp")
            if value <= now - leeway:
                raise InvalidToken("token expired")
        elif name in ("iat", "nbf"):
            if not _numeric_date(value) or value > now + leeway:
                raise InvalidToken(f"invalid claim: {name}")
        elif name in ("sub", "jti"):
            if not isinstance(value, str) or not value:
                raise InvalidToken(f"invalid claim: {name}")
        elif name == "iss":
            if not value or value != issuer:
                raise InvalidToken("invalid claim: iss")
        elif name == "aud" and not _names_audience(value, audience):
            raise InvalidToken("invalid claim: aud")


def _numeric_date(value: object) -> TypeGuard[int | float]:
    """RFC 7519 §2 NumericDate: a JSON number (NaN and infinities are not; a boolean is not a number)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _names_audience(value: object, audience: str | None) -> bool:
    """``aud`` is a non-empty string or list of strings; it names ``audience`` (any, when None)."""
    if isinstance(value, str):
        return bool(value) and (audience is None or value == audience)
    if not isinstance(value, list) or not value or not all(isinstance(name, str) for name in value):
        return False
    return audience is None or audience in value


def _access_claims(claims: Mapping[str, Any]) -> AccessClaims:
    """Type the claims of a verified access token; TypeError or ValueError if one is malformed."""
    audience = claims["aud"]
    scope = claims.get("scope", "")
    session_id = claims.get("sid")
    client_id = claims.get("client_id")
    if not isinstance(scope, str) or not isinstance(client_id, str):
        raise TypeError("scope and client_id are strings")
    if session_id is not None and not isinstance(session_id, str):
        raise TypeError("sid is a string")
    return AccessClaims(
        subject=claims["sub"],
        audience=(audience,) if isinstance(audience, str) else tuple(audience),
        client_id=client_id,
        amr=tuple(_members(AuthMethod, claims.get("amr", []))),
        scopes=frozenset(_members(Scope, scope.split())),
        roles=frozenset(_members(Role, claims.get("roles", []))),
        session_id=session_id,
        jti=claims["jti"],
        issued_at=datetime.fromtimestamp(claims["iat"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )


def _members(vocabulary: type[_E], values: object) -> list[_E]:
    if not isinstance(values, list):
        raise TypeError("a list of names")
    return [vocabulary(value) for value in values]
