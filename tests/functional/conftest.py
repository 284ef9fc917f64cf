"""Factories for the functional tests: shop clients, customers, staff, and a driver that speaks the API.

Everything is built through the services or the HTTP API, never by writing
rows: a shop is registered with ``identity.clients.register_client`` and gets
its bearer token from ``POST /oauth/token``; a customer registers through
``POST /v1/users``; staff are created as ``privacy-service admin create``
does (``accounts.register_user`` with a role, TOTP enrolled and confirmed).
Time is the ``clock`` fixture's: tests move it, never sleep. Data subject
requests are driven by ``dsr`` (``dsr_support.DsrDriver``) against the
downstream system ``orders``, a real HTTP server on loopback.
"""

from __future__ import annotations

import base64
import json
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core.clock import FrozenClock
from privacy_service.identity.clients import register_client
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.hashing_pool import PoolPlace
from privacy_service.identity.scopes import Role, Scope
from privacy_service.identity.staff import create_staff
from privacy_service.keys.service import Keyring
from privacy_service.work import Workplace
from tests.functional.dsr_support import DsrDriver
from tests.support.downstream import FakeDownstream

PROBLEM = "application/problem+json"
CUSTOMER_PASSWORD = "Tandem-Lighthouse-42"
STAFF_PASSWORD = "Quiet-Orchard-Lantern-7"
TOTP_STEP = timedelta(seconds=30)


def unique_email(prefix: str = "customer") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys()
    assert (body["status"], body["code"]) == (status, code)
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """The response is an RFC 6749 §5.2 error (``error``, ``error_description``), not a problem."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")
    return body


def verify_with_jwks(token: str, jwks: Mapping[str, Any]) -> jwt.Token:
    """Verify an access token as a shop would: with the published JWKS and nothing else."""
    with warnings.catch_warnings():
        # joserfc flags the algorithm name EdDSA (RFC 9864 prefers Ed25519); shops still verify it.
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.decode(
            token, KeySet.import_key_set(cast(KeySetSerialization, dict(jwks))), algorithms=["EdDSA"]
        )


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWT, read without checking anything (to forge variants of it)."""
    header, payload, _signature = token.split(".")
    return _b64json(header), _b64json(payload)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


class Shop:
    """A registered shop backend (OAuth client); its client_credentials token renews as the clock moves."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        scopes: frozenset[Scope],
        clock: FrozenClock,
        fetch_token: Callable[[str, str], tuple[str, int]],
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self._clock = clock
        self._fetch_token = fetch_token
        self._token = ""
        self._expires_at = clock.now()

    @property
    def basic(self) -> tuple[str, str]:
        return (self.client_id, self.client_secret)

    @property
    def access_token(self) -> str:
        """A live client_credentials access token: fetched again once the clock has passed its expiry."""
        if self._clock.now() >= self._expires_at:
            self._token, expires_in = self._fetch_token(self.client_id, self.client_secret)
            self._expires_at = self._clock.now() + timedelta(seconds=expires_in)
        return self._token

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)

    def __repr__(self) -> str:
        return f"Shop(client_id={self.client_id!r}, scopes={sorted(self.scopes)!r})"


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Staff:
    """A staff member with TOTP enrolled (as ``admin create`` makes them), or without (``totp`` None)."""

    id: str
    email: str
    password: str = field(repr=False)
    totp: pyotp.TOTP | None
    recovery_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserTokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


class Api:
    """The HTTP API as a shop backend drives it, for one default shop (``auth:login``, ``users:write``)."""

    def __init__(self, http: TestClient, clock: FrozenClock, shop: Shop) -> None:
        self.http = http
        self.clock = clock
        self.shop = shop

    # -- registration and login -------------------------------------------------------------------

    def register(
        self,
        *,
        email: str,
        password: str = CUSTOMER_PASSWORD,
        country: str = "DE",
        profile: Mapping[str, Any] | None = None,
        shop: Shop | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"email": email, "password": password, "country": country}
        if profile is not None:
            body["profile"] = dict(profile)
        response: httpx.Response = self.http.post("/v1/users", json=body, headers=(shop or self.shop).headers)
        return response

    def login(
        self,
        email: str,
        password: str,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
        shop: Shop | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"email": email, "password": password}
        if ip is not None or user_agent is not None:
            body["context"] = {"ip": ip, "user_agent": user_agent}
        response: httpx.Response = self.http.post(
            "/v1/auth/login", json=body, headers=(shop or self.shop).headers
        )
        return response

    def mfa(
        self, mfa_token: str, code: str, *, user_agent: str | None = None, shop: Shop | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"mfa_token": mfa_token, "code": code}
        if user_agent is not None:
            body["context"] = {"user_agent": user_agent}
        response: httpx.Response = self.http.post(
            "/v1/auth/mfa", json=body, headers=(shop or self.shop).headers
        )
        return response

    def tokens(self, email: str, password: str, *, user_agent: str | None = None) -> UserTokens:
        """Log in a user without a second factor and return their tokens."""
        response = self.login(email, password, user_agent=user_agent)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "access_token" in body, body
        return UserTokens(access_token=body["access_token"], refresh_token=body["refresh_token"])

    def mfa_token(self, email: str, password: str) -> str:
        response = self.login(email, password)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["mfa_required"] is True, body
        token: str = body["mfa_token"]
        return token

    def tokens_with_totp(self, email: str, password: str, totp: pyotp.TOTP) -> UserTokens:
        """Log in with the password and a fresh TOTP code (the clock moves to the next step first)."""
        mfa_token = self.mfa_token(email, password)
        response = self.mfa(mfa_token, self.fresh_code(totp))
        assert response.status_code == 200, response.text
        body = response.json()
        return UserTokens(access_token=body["access_token"], refresh_token=body["refresh_token"])

    # -- codes ------------------------------------------------------------------------------------

    def code(self, totp: pyotp.TOTP) -> str:
        """The code an authenticator app shows now."""
        return totp.at(self.clock.now())

    def fresh_code(self, totp: pyotp.TOTP) -> str:
        """A code of the next time step, never used before (RFC 6238 §5.2 accepts each step once)."""
        self.clock.advance(TOTP_STEP)
        return self.code(totp)

    def wrong_code(self, totp: pyotp.TOTP) -> str:
        """A six-digit code that no accepted step (now, one before, one after) shows."""
        now = self.clock.now()
        accepted = {totp.at(now + offset * TOTP_STEP) for offset in (-1, 0, 1)}
        return next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)

    def enrol_totp(self, user: UserTokens) -> tuple[pyotp.TOTP, list[str]]:
        """Enrol and confirm TOTP through /v1/me/mfa/totp; return the authenticator and the recovery codes."""
        started = self.http.post("/v1/me/mfa/totp", headers=user.headers)
        assert started.status_code == 200, started.text
        totp = pyotp.TOTP(started.json()["secret"])
        confirmed = self.http.post(
            "/v1/me/mfa/totp/confirm", json={"code": self.code(totp)}, headers=user.headers
        )
        assert confirmed.status_code == 200, confirmed.text
        codes: list[str] = confirmed.json()["recovery_codes"]
        return totp, codes

    # -- OAuth ------------------------------------------------------------------------------------

    def oauth(
        self, path: str, form: Mapping[str, str], *, auth: tuple[str, str] | None = None
    ) -> httpx.Response:
        response: httpx.Response = self.http.post(
            f"/oauth/{path}", data=dict(form), auth=auth or self.shop.basic
        )
        return response

    def refresh(self, refresh_token: str, *, shop: Shop | None = None) -> httpx.Response:
        return self.oauth(
            "token",
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(shop or self.shop).basic,
        )

    def introspect(self, token: str, *, shop: Shop | None = None) -> dict[str, Any]:
        response = self.oauth("introspect", {"token": token}, auth=(shop or self.shop).basic)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def jwks(self) -> dict[str, Any]:
        response = self.http.get("/.well-known/jwks.json")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    def profile_status(self, user: UserTokens) -> int:
        """What ``GET /v1/me/profile`` answers with this user's access token: 200 while it is honoured."""
        status: int = self.http.get("/v1/me/profile", headers=user.headers).status_code
        return status


MakeShop = Callable[..., Shop]
MakeCustomer = Callable[..., Customer]
MakeStaff = Callable[..., Staff]


@pytest.fixture
def workplace(sessions: sessionmaker[Session], clock: FrozenClock, keyring: Keyring) -> Workplace:
    """Units of work on the test's sessions, clock and keyring, as the app's own (``app.state.workplace``)."""
    return Workplace(sessions=sessions, clock=clock, keyring=keyring)


@pytest.fixture
def make_shop(
    client: TestClient, workplace: Workplace, credentials: Credentials, clock: FrozenClock
) -> MakeShop:
    """Register a shop backend with ``scopes`` and fetch its client_credentials token."""

    def fetch_token(client_id: str, client_secret: str) -> tuple[str, int]:
        response = client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return body["access_token"], body["expires_in"]

    def make(*scopes: Scope, name: str = "shop") -> Shop:
        with workplace.open() as work:
            registered = register_client(work, digests=credentials.digests, name=name, scopes=scopes)
        return Shop(
            client_id=registered.client_id,
            client_secret=registered.client_secret,
            scopes=frozenset(scopes),
            clock=clock,
            fetch_token=fetch_token,
        )

    return make


@pytest.fixture
def shop(make_shop: MakeShop) -> Shop:
    """A shop that registers and logs in its customers."""
    return make_shop(Scope.AUTH_LOGIN, Scope.USERS_WRITE, name="web shop")


@pytest.fixture
def vault_shop(make_shop: MakeShop) -> Shop:
    """A shop backend that stores and reads its customers' personal data."""
    return make_shop(Scope.VAULT_READ, Scope.VAULT_WRITE, name="order system")


@pytest.fixture
def api(client: TestClient, clock: FrozenClock, shop: Shop) -> Api:
    return Api(client, clock, shop)


@pytest.fixture
def make_customer(api: Api) -> MakeCustomer:
    """Register a customer through ``POST /v1/users``."""

    def make(
        *,
        email: str | None = None,
        password: str = CUSTOMER_PASSWORD,
        profile: Mapping[str, Any] | None = None,
    ) -> Customer:
        email = email or unique_email()
        response = api.register(email=email, password=password, profile=profile)
        assert response.status_code == 201, response.text
        return Customer(id=response.json()["id"], email=email, password=password)

    return make


@pytest.fixture
def customer(make_customer: MakeCustomer) -> Customer:
    return make_customer(profile={"given_name": "Ada", "family_name": "Lovelace", "locale": "en-GB"})


@pytest.fixture
def make_staff(workplace: Workplace, credentials: Credentials) -> MakeStaff:
    """Create a staff member as ``privacy-service admin create`` does: a role, and TOTP already enrolled."""

    def make(roles: Iterable[Role] = (Role.COMPLIANCE_OFFICER,), *, with_totp: bool = True) -> Staff:
        email = unique_email("officer")
        with workplace.open() as work:
            staff = create_staff(
                work,
                credentials=credentials,
                email=email,
                password=STAFF_PASSWORD,
                roles=roles,
                with_totp=with_totp,
            )
        if staff.enrolment is None:
            return Staff(id=staff.user_id, email=email, password=STAFF_PASSWORD, totp=None)
        return Staff(
            id=staff.user_id,
            email=email,
            password=STAFF_PASSWORD,
            totp=pyotp.TOTP(staff.enrolment.secret),
            recovery_codes=tuple(staff.recovery_codes),
        )

    return make


# -- data subject requests ------------------------------------------------------------------------


@pytest.fixture
def dsr(app: FastAPI, client: TestClient, workplace: Workplace) -> Iterator[DsrDriver]:
    """The worker's DSR steps, run by the test (``client`` starts the app, which builds its Fulfilment)."""
    driver = DsrDriver(app, workplace)
    yield driver
    driver.shutdown()


@pytest.fixture
def orders() -> Iterator[FakeDownstream]:
    """A downstream system on loopback; a test says how it answers, then registers it with ``dsr``."""
    with FakeDownstream(name="orders") as fake:
        yield fake


@pytest.fixture
def dsr_shop(make_shop: MakeShop) -> Shop:
    """A shop backend that files requests for its customers (``dsr:write``)."""
    return make_shop(Scope.DSR_WRITE, name="shop backend")


@pytest.fixture
def officer(make_staff: MakeStaff) -> Staff:
    """A compliance officer with TOTP enrolled; ``dsr_support.signed_in`` gives fresh headers."""
    return make_staff((Role.COMPLIANCE_OFFICER,))


@pytest.fixture
def flood(credentials: Credentials) -> Iterator[list[PoolPlace]]:
    """Every unreserved place of the password pool taken, as by logins of a flood that are being checked."""
    places: list[PoolPlace] = []
    while (place := credentials.admission.admit()) is not None:
        places.append(place)
    assert places
    yield places
    for place in places:
        place.release()
