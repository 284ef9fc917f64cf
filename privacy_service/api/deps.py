"""What a route may ask for: the request's unit of work, the settings, the caller.

The unit of work (``WorkDep``, a ``work.Work``) is a ``scope="function"``
dependency: it commits right after the route returns and *before* the
response is sent, so a failed commit is answered as an error, never as a
success for a change that did not happen. A route that must not hold a
transaction throughout (a login waiting for argon2, the OAuth endpoints)
opens its units of work itself from ``WorkplaceDep``.

The caller is resolved from ``Authorization: Bearer <access token>``: a user
(a customer or staff, whose session must still be open) or a client (a shop
backend). Route dependencies then demand what the endpoint needs: a user, a
client with a scope, or staff with a role and a second factor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from privacy_service.api.admission import PLACE_STATE_KEY as PASSWORD_PLACE
from privacy_service.core.config import Settings
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.identity import revocation
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.errors import Forbidden, InvalidToken, MfaRequiredForStaff, NotAuthenticated
from privacy_service.identity.hashing_pool import PoolPlace
from privacy_service.identity.principals import Principal, PrincipalKind
from privacy_service.identity.scopes import Role, Scope
from privacy_service.work import Work, Workplace

T = TypeVar("T")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_credentials(request: Request) -> Credentials:
    credentials: Credentials = request.app.state.credentials
    return credentials


def get_fulfilment(request: Request) -> Fulfilment:
    fulfilment: Fulfilment = request.app.state.fulfilment
    return fulfilment


def get_password_place(request: Request) -> PoolPlace | None:
    """The password pool's place the edge took for this login (``api/admission.py``), if it took one."""
    place: PoolPlace | None = request.scope.get("state", {}).get(PASSWORD_PLACE)
    return place


def get_workplace(request: Request) -> Workplace:
    workplace: Workplace = request.app.state.workplace
    return workplace


def get_work(request: Request) -> Iterator[Work]:
    with get_workplace(request).open() as work:
        yield work


def _in_event_loop(getter: Callable[[Request], T]) -> Callable[[Request], Awaitable[T]]:
    """``getter`` as an async dependency: FastAPI runs a sync dependency through a worker thread,
    a hop that costs more than reading the app's state and waits for a free thread under load
    (about 190 us of CPU a hop; a record GET 1.10x faster in whole requests, median of 9 runs;
    benchmarks/README.md, caches.py)."""

    async def dependency(request: Request) -> T:
        return getter(request)

    return dependency


SettingsDep = Annotated[Settings, Depends(_in_event_loop(get_settings))]
CredentialsDep = Annotated[Credentials, Depends(_in_event_loop(get_credentials))]
WorkplaceDep = Annotated[Workplace, Depends(_in_event_loop(get_workplace))]
FulfilmentDep = Annotated[Fulfilment, Depends(_in_event_loop(get_fulfilment))]
WorkDep = Annotated[Work, Depends(get_work, scope="function")]


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer ...`` (RFC 6750 §2.1), or NotAuthenticated."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Send an access token: Authorization: Bearer <token>.")
    return token.strip()


def get_principal(request: Request, workplace: WorkplaceDep, credentials: CredentialsDep) -> Principal:
    """The caller, checked in a short unit of work of its own (so a route may run work outside one)."""
    token = bearer_token(request)
    with workplace.open() as work:
        claims = credentials.tokens.verify_access_token(session=work.session, token=token, audience=None)
        if not credentials.clients.is_enabled(session=work.session, client_id=claims.client_id):
            raise InvalidToken("The client this token was issued to is disabled.")
        revocation.ensure_usable(work, claims=claims)
    if claims.session_id is None:
        if claims.subject != claims.client_id:
            raise InvalidToken()
        return Principal(
            kind=PrincipalKind.CLIENT, id=claims.subject, client_id=claims.client_id, scopes=claims.scopes
        )
    return Principal(
        kind=PrincipalKind.USER,
        id=claims.subject,
        client_id=claims.client_id,
        roles=claims.roles,
        amr=frozenset(claims.amr),
        session_id=claims.session_id,
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: PrincipalDep) -> Principal:
    if not principal.is_user:
        raise Forbidden("This endpoint acts for a signed-in user, not a client.")
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def client_with(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only a client granted ``scope`` (async: a check, no I/O)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        return _as_client(principal, scope)

    return dependency


def staff_with(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only staff holding one of ``roles``, signed in with a second factor."""

    async def dependency(principal: PrincipalDep) -> Principal:
        return _as_staff(principal, roles)

    return dependency


def staff_or_client_with(scope: Scope, *roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """Staff (with 2FA) holding one of ``roles``, or a client granted ``scope``."""

    async def dependency(principal: PrincipalDep) -> Principal:
        return _as_staff(principal, roles) if principal.is_user else _as_client(principal, scope)

    return dependency


def client_in_thread(request: Request, scope: Scope) -> Principal:
    """The calling client granted ``scope``, checked as ``client_with(scope)`` checks it.

    For a route that already runs its work in a worker thread: checking the
    caller there spares the request a second trip between the event loop and
    the threads. The body is then validated before the caller is (a 422 can
    come before a 401); use ``client_with`` wherever that order matters.
    """
    state = request.app.state
    return _as_client(get_principal(request, state.workplace, state.credentials), scope)


def _as_client(principal: Principal, scope: Scope) -> Principal:
    if principal.is_user:
        raise Forbidden("This endpoint is for shop backends (OAuth clients).")
    if scope not in principal.scopes:
        raise Forbidden(f"The client lacks the scope {scope.value}.")
    return principal


def _as_staff(principal: Principal, roles: tuple[Role, ...]) -> Principal:
    if not principal.is_user or principal.roles.isdisjoint(roles):
        raise Forbidden("This endpoint is for staff.")
    if not principal.has_second_factor:
        raise MfaRequiredForStaff("Sign in with a second factor (amr must contain otp).")
    return principal
