"""The OAuth endpoints stock clients speak: token (RFC 6749), revocation (RFC 7009), introspection (RFC 7662).

Requests are form-encoded and clients authenticate with HTTP Basic (or, as
RFC 6749 §2.3.1 also allows, ``client_id``/``client_secret`` in the body).
Errors are answered as RFC 6749 §5.2 says (``error``, ``error_description``),
not as problems, so stock OAuth libraries understand them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from privacy_service.api.deps import get_credentials, get_workplace
from privacy_service.core.errors import DomainError
from privacy_service.identity import grants, revocation
from privacy_service.identity.clients import AuthenticatedClient, InvalidClient, authenticate_client
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.errors import InvalidToken, TooManyAttempts

router = APIRouter(tags=["oauth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# -- what the OpenAPI document says of these endpoints ------------------------------------------
# The bodies are forms, read by hand below (RFC 6749 §3.2: a parameter sent twice is an error, which
# a form model would not see), so their fields are described here. An unknown parameter is ignored
# (RFC 6749 §3.1), but like every parameter it is a single string: a list would be a repeated parameter.

_CLIENT_IN_BODY: dict[str, Any] = {
    "client_id": {
        "type": "string",
        "description": "With client_secret, instead of HTTP Basic (RFC 6749 §2.3.1); Basic is preferred.",
    },
    "client_secret": {"type": "string", "description": "With client_id, instead of HTTP Basic."},
}
_TOKEN_HINT: dict[str, Any] = {
    "type": "string",
    "description": "access_token or refresh_token: a hint only, an unknown value is ignored "
    "(RFC 7009 §2.1, RFC 7662 §2.1).",
}


_UNKNOWN_PARAMETERS: dict[str, Any] = {"additionalProperties": {"type": "string"}}


def _form_body(title: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": {"title": title, **schema}}},
        }
    }


_TOKEN_FORM = _form_body(
    "TokenRequest",
    {
        "oneOf": [
            {
                "title": "client_credentials grant: a token for the client itself",
                "type": "object",
                "required": ["grant_type"],
                "properties": {"grant_type": {"const": "client_credentials"}, **_CLIENT_IN_BODY},
                **_UNKNOWN_PARAMETERS,
            },
            {
                "title": "refresh_token grant: rotate a user's tokens; the refresh token is single-use",
                "type": "object",
                "required": ["grant_type", "refresh_token"],
                "properties": {
                    "grant_type": {"const": "refresh_token"},
                    "refresh_token": {"type": "string", "minLength": 1},
                    **_CLIENT_IN_BODY,
                },
                **_UNKNOWN_PARAMETERS,
            },
        ]
    },
)
_TOKEN_PARAMETER_FORM = {
    "type": "object",
    "required": ["token"],
    "properties": {
        "token": {"type": "string", "minLength": 1},
        "token_type_hint": _TOKEN_HINT,
        **_CLIENT_IN_BODY,
    },
    **_UNKNOWN_PARAMETERS,
}
_REVOKE_FORM = _form_body("RevocationRequest", _TOKEN_PARAMETER_FORM)
_INTROSPECT_FORM = _form_body("IntrospectionRequest", _TOKEN_PARAMETER_FORM)


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2: what stock OAuth clients read; sent as application/json, not as a problem."""

    error: str = Field(
        description="invalid_request, invalid_client, invalid_grant, unsupported_grant_type or "
        "temporarily_unavailable."
    )
    error_description: str = Field(description="For a developer; never a secret or personal data.")


class TokenResponse(BaseModel):
    """RFC 6749 §5.1; a refresh_token only from the refresh_token grant, a scope only for the client's own."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        default=None, description="The next refresh token; the one sent is spent."
    )
    scope: str | None = Field(default=None, description="The client's scopes, space-separated.")


class RevocationResponse(BaseModel):
    """RFC 7009 §2.2: 200 with an empty object, whether or not the token was valid."""

    model_config = ConfigDict(extra="forbid")


class IntrospectionResponse(BaseModel):
    """RFC 7662 §2.2: ``active`` alone when the token is not active or not this client's."""

    active: bool
    sub: str | None = None
    client_id: str | None = None
    aud: list[str] | None = None
    iat: int | None = None
    exp: int | None = None
    jti: str | None = None
    token_type: Literal["Bearer"] | None = None
    iss: str | None = None
    scope: str | None = None
    amr: list[str] | None = None


_NO_STORE_HEADERS: dict[str, Any] = {
    "Cache-Control": {
        "description": "no-store (RFC 6749 §5.1)",
        "required": True,
        "schema": {"type": "string"},
    }
}
_OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OAuthErrorBody,
        "description": "RFC 6749 §5.2: invalid_request (not a form, a parameter missing or repeated), "
        "invalid_grant, unsupported_grant_type",
        "headers": _NO_STORE_HEADERS,
    },
    401: {
        "model": OAuthErrorBody,
        "description": "RFC 6749 §5.2: invalid_client, the client's authentication failed",
        "headers": {
            "WWW-Authenticate": {
                "description": 'Basic realm="privacy-service"',
                "required": True,
                "schema": {"type": "string"},
            },
            **_NO_STORE_HEADERS,
        },
    },
    429: {
        "model": OAuthErrorBody,
        "description": "temporarily_unavailable: too many failed client authentications from this address",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "required": True, "schema": {"type": "string"}},
            **_NO_STORE_HEADERS,
        },
    },
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


def _authenticate(request: Request, form: dict[str, str], credentials: Credentials) -> AuthenticatedClient:
    """The client the credentials name; wrong ones are counted against the caller's address (throttle)."""
    client_id, secret = _client_credentials(request, form)
    peer = request.client.host if request.client else None
    try:
        with get_workplace(request).open() as work:
            throttle = credentials.throttle(work)
            throttle.check_client_authentication(peer=peer)
            try:
                return authenticate_client(
                    session=work.session,
                    digests=credentials.digests,
                    client_id=client_id,
                    client_secret=secret,
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
) -> tuple[dict[str, str], Credentials, AuthenticatedClient]:
    """The request's form and its authenticated client; the database lookup runs off the event loop."""
    form = await _form(request)
    credentials = get_credentials(request)
    client = await run_in_threadpool(_authenticate, request, form, credentials)
    return form, credentials, client


def _token_parameter(form: dict[str, str]) -> str:
    """RFC 7009 §2.1 and RFC 7662 §2.1: the ``token`` parameter is required."""
    token_value = form.get("token", "")
    if not token_value:
        raise OAuthError("invalid_request", "token is required.")
    return token_value


@router.post(
    "/oauth/token",
    summary="Issue tokens (client_credentials, refresh_token)",
    openapi_extra=_TOKEN_FORM,
    response_model=TokenResponse,
    responses=_OAUTH_ERRORS,
)
async def token(request: Request) -> JSONResponse:
    try:
        form, credentials, client = await _authenticated_form(request)
        return await _grant(request, form, credentials, client)
    except OAuthError as error:
        return error.response()


async def _grant(
    request: Request, form: dict[str, str], credentials: Credentials, client: AuthenticatedClient
) -> JSONResponse:
    grant_type = form.get("grant_type", "")
    if grant_type == "client_credentials":

        def issue() -> dict[str, object]:
            with get_workplace(request).open() as work:
                issued = grants.client_credentials(
                    session=work.session, credentials=credentials, client=client
                )
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
                with get_workplace(request).open() as work:
                    pair = grants.refresh(
                        work, credentials=credentials, client=client, refresh_token=refresh_token
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
    "/oauth/revoke",
    summary="Revoke an access token or a refresh token (RFC 7009)",
    openapi_extra=_REVOKE_FORM,
    response_model=RevocationResponse,
    responses=_OAUTH_ERRORS,
)
async def revoke(request: Request) -> JSONResponse:
    try:
        form, credentials, client = await _authenticated_form(request)
        token_value = _token_parameter(form)

        def run() -> None:
            try:
                with get_workplace(request).open() as work:
                    revocation.revoke_token(
                        work, credentials=credentials, client_id=client.client_id, token=token_value
                    )
            except InvalidToken:
                raise OAuthError("invalid_request", "The token was issued to another client.") from None

        await run_in_threadpool(run)
        return JSONResponse({}, headers=_NO_STORE)
    except OAuthError as error:
        return error.response()


@router.post(
    "/oauth/introspect",
    summary="Describe a token (RFC 7662)",
    openapi_extra=_INTROSPECT_FORM,
    response_model=IntrospectionResponse,
    responses=_OAUTH_ERRORS,
)
async def introspect(request: Request) -> JSONResponse:
    try:
        form, credentials, client = await _authenticated_form(request)
        token_value = _token_parameter(form)

        def run() -> dict[str, object]:
            with get_workplace(request).open() as work:
                try:
                    claims = credentials.tokens.verify_access_token(
                        session=work.session, token=token_value, audience=None
                    )
                except DomainError:
                    return {"active": False}
                if claims.client_id != client.client_id:
                    return {"active": False}  # RFC 7662 §2.2: do not describe other clients' tokens
                try:
                    revocation.ensure_usable(work, claims=claims)
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
                "iss": credentials.tokens.issuer,
            }
            if claims.scopes:
                answer["scope"] = " ".join(sorted(claims.scopes))
            if claims.amr:
                answer["amr"] = list(claims.amr)
            return answer

        return JSONResponse(await run_in_threadpool(run), headers=_NO_STORE)
    except OAuthError as error:
        return error.response()
