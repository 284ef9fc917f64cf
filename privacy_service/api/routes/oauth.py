"""The OAuth endpoints stock clients speak: token (RFC 6749), revocation (RFC 7009), introspection (RFC 7662).

Requests are form-encoded and clients authenticate with HTTP Basic (or, as
RFC 6749 §2.3.1 also allows, ``client_id``/``client_secret`` in the body).
Errors are answered as RFC 6749 §5.2 says (``error``, ``error_description``),
not as problems, so stock OAuth libraries understand them.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from privacy_service.api.deps import get_clock, get_identity, get_keyring, get_sessions
from privacy_service.core.db import unit_of_work
from privacy_service.core.errors import DomainError
from privacy_service.identity import grants, revocation
from privacy_service.identity.clients import AuthenticatedClient, InvalidClient, authenticate_client
from privacy_service.identity.errors import InvalidToken, TooManyAttempts
from privacy_service.identity.runtime import IdentityRuntime

router = APIRouter(tags=["oauth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = {
    "requestBody": {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
    }
}


class OAuthError(Exception):
    """An RFC 6749 §5.2 error response."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, retry_after: int | None = None
    ) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="privacy-service"'
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=headers,
        )


async def _form(request: Request) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "Send the request as application/x-www-form-urlencoded.")
    try:
        parsed = parse_qs((await request.body()).decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "The request body is not UTF-8.") from None
    if any(len(values) > 1 for values in parsed.values()):
        raise OAuthError("invalid_request", "A parameter was sent more than once (RFC 6749 §3.2).")
    return {name: values[0] for name, values in parsed.items()}


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    authorization = request.headers.get("authorization", "")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Malformed Basic credentials.", status=401) from None
        # RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
        return unquote(client_id), unquote(secret)
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    raise OAuthError("invalid_client", "Authenticate the client with HTTP Basic.", status=401)


def _authenticate(request: Request, form: dict[str, str], identity: IdentityRuntime) -> AuthenticatedClient:
    """The client the credentials name; wrong ones are counted against the caller's address (throttle)."""
    client_id, secret = _client_credentials(request, form)
    peer = request.client.host if request.client else None
    try:
        with unit_of_work(get_sessions(request)) as session:
            throttle = identity.throttle(session=session, clock=get_clock(request))
            throttle.check_client_authentication(peer=peer)
            try:
                return authenticate_client(
                    session=session, digests=identity.digests, client_id=client_id, client_secret=secret
                )
            except InvalidClient:
                throttle.record_client_authentication_failure(peer=peer)  # committed with the block
    except TooManyAttempts as throttled:
        # RFC 6749 has no rate-limit error; temporarily_unavailable is the registered code closest to it.
        raise OAuthError(
            "temporarily_unavailable",
            "Too many failed client authentications from this address; retry later.",
            status=429,
            retry_after=throttled.retry_after,
        ) from None
    raise OAuthError("invalid_client", "Client authentication failed.", status=401)


async def _authenticated_form(
    request: Request,
) -> tuple[dict[str, str], IdentityRuntime, AuthenticatedClient]:
    """The request's form and its authenticated client; the database lookup runs off the event loop."""
    form = await _form(request)
    identity = get_identity(request)
    client = await run_in_threadpool(_authenticate, request, form, identity)
    return form, identity, client


def _token_parameter(form: dict[str, str]) -> str:
    """RFC 7009 §2.1 and RFC 7662 §2.1: the ``token`` parameter is required."""
    token_value = form.get("token", "")
    if not token_value:
        raise OAuthError("invalid_request", "token is required.")
    return token_value


@router.post("/oauth/token", summary="Issue tokens (client_credentials, refresh_token)", openapi_extra=_FORM)
async def token(request: Request) -> JSONResponse:
    try:
        form, identity, client = await _authenticated_form(request)
        return await _grant(request, form, identity, client)
    except OAuthError as error:
        return error.response()


async def _grant(
    request: Request, form: dict[str, str], identity: IdentityRuntime, client: AuthenticatedClient
) -> JSONResponse:
    grant_type = form.get("grant_type", "")
    if grant_type == "client_credentials":

        def issue() -> dict[str, object]:
            with unit_of_work(get_sessions(request)) as session:
                issued = grants.client_credentials(session=session, identity=identity, client=client)
            return {
                "access_token": issued.access_token,
                "token_type": issued.token_type,
                "expires_in": issued.expires_in,
                "scope": issued.scope,
            }

        return JSONResponse(await run_in_threadpool(issue), headers=_NO_STORE)
    if grant_type == "refresh_token":
        refresh_token = form.get("refresh_token", "")
        if not refresh_token:
            raise OAuthError("invalid_request", "refresh_token is required.")

        def rotate() -> dict[str, object]:
            try:
                with unit_of_work(get_sessions(request)) as session:
                    pair = grants.refresh(
                        session=session,
                        identity=identity,
                        clock=get_clock(request),
                        client=client,
                        refresh_token=refresh_token,
                    )
            except InvalidToken:
                raise OAuthError(
                    "invalid_grant", "The refresh token is invalid, expired or revoked."
                ) from None
            return {
                "access_token": pair.access_token,
                "refresh_token": pair.refresh_token,
                "token_type": pair.token_type,
                "expires_in": pair.expires_in,
            }

        return JSONResponse(await run_in_threadpool(rotate), headers=_NO_STORE)
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required.")
    raise OAuthError("unsupported_grant_type", "Supported: client_credentials, refresh_token.")


@router.post(
    "/oauth/revoke", summary="Revoke an access token or a refresh token (RFC 7009)", openapi_extra=_FORM
)
async def revoke(request: Request) -> JSONResponse:
    try:
        form, identity, client = await _authenticated_form(request)
        token_value = _token_parameter(form)

        def run() -> None:
            try:
                with unit_of_work(get_sessions(request)) as session:
                    revocation.revoke_token(
                        session=session,
                        identity=identity,
                        keyring=get_keyring(request),
                        clock=get_clock(request),
                        client_id=client.client_id,
                        token=token_value,
                    )
            except InvalidToken:
                raise OAuthError("invalid_request", "The token was issued to another client.") from None

        await run_in_threadpool(run)
        return JSONResponse({}, headers=_NO_STORE)
    except OAuthError as error:
        return error.response()


@router.post("/oauth/introspect", summary="Describe a token (RFC 7662)", openapi_extra=_FORM)
async def introspect(request: Request) -> JSONResponse:
    try:
        form, identity, client = await _authenticated_form(request)
        token_value = _token_parameter(form)

        def run() -> dict[str, object]:
            with unit_of_work(get_sessions(request)) as session:
                try:
                    claims = identity.tokens.verify_access_token(
                        session=session, token=token_value, audience=None
                    )
                except DomainError:
                    return {"active": False}
                if claims.client_id != client.client_id:
                    return {"active": False}  # RFC 7662 §2.2: do not describe other clients' tokens
                try:
                    revocation.ensure_usable(session=session, clock=get_clock(request), claims=claims)
                except InvalidToken:
                    return {"active": False}  # revoked, or its session has ended
            answer: dict[str, object] = {
                "active": True,
                "sub": claims.subject,
                "client_id": claims.client_id,
                "aud": list(claims.audience),
                "iat": int(claims.issued_at.timestamp()),
                "exp": int(claims.expires_at.timestamp()),
                "jti": claims.jti,
                "token_type": "Bearer",
                "iss": identity.tokens.issuer,
            }
            if claims.scopes:
                answer["scope"] = " ".join(sorted(claims.scopes))
            if claims.amr:
                answer["amr"] = list(claims.amr)
            return answer

        return JSONResponse(await run_in_threadpool(run), headers=_NO_STORE)
    except OAuthError as error:
        return error.response()
