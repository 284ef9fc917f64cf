"""Every error leaves the service as RFC 9457 ``application/problem+json``, mapped here and nowhere else.

A problem always has ``type``, ``title``, ``status``, ``detail``, a stable
machine-readable ``code`` and the ``request_id`` the caller can quote to an
operator. Validation problems list the offending fields, never the values
that were sent (they may be passwords or personal data).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from privacy_service.core.errors import DomainError
from privacy_service.core.logging import request_id_var
from privacy_service.crypto import CryptoError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:privacy-service:problem:"

log = logging.getLogger(__name__)

# Codes for the HTTP-level failures Starlette raises before any domain code runs.
_STATUS_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def problem_body(
    *, status: int, code: str, detail: str, title: str | None = None, **extensions: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    request_id = request_id_var.get()
    if request_id is not None:
        body["request_id"] = request_id
    body.update(extensions)
    return body


def problem_bytes(
    *, status: int, code: str, detail: str, title: str | None = None, **extensions: Any
) -> bytes:
    return json.dumps(
        problem_body(status=status, code=code, detail=detail, title=title, **extensions), ensure_ascii=False
    ).encode()


class ProblemResponse(Response):
    media_type = PROBLEM_CONTENT_TYPE

    def __init__(
        self,
        *,
        status: int,
        code: str,
        detail: str,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        body = problem_body(status=status, code=code, detail=detail, title=title, **extensions)
        super().__init__(
            content=json.dumps(body, ensure_ascii=False).encode(), status_code=status, headers=headers
        )


def _domain_error_headers(error: DomainError) -> dict[str, str]:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
    challenge = getattr(error, "challenge", None)
    if challenge:
        headers["WWW-Authenticate"] = challenge
    return headers


def domain_problem(error: DomainError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A domain error as ASGI parts (status, headers, body), for edge layers that answer before routing."""
    body = problem_bytes(
        status=error.status, code=error.code, detail=error.detail, title=error.title, **error.extensions
    )
    named = _domain_error_headers(error)
    headers = [(name.lower().encode(), value.encode()) for name, value in named.items()]
    return error.status, headers, body


def _domain_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    headers = _domain_error_headers(error)
    return ProblemResponse(
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        headers=headers,
        **error.extensions,
    )


def _crypto_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, CryptoError)
    log.error("cryptographic check failed", extra={"error_code": error.code})
    return ProblemResponse(status=error.status, code=error.code, title=error.title, detail=error.detail)


# The methods a 405 considers naming in its Allow header.
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path (RFC 9110 §15.5.6), alphabetised.

    Starlette names only the methods of the first route that matched the path,
    but a path such as ``/v1/systems`` is served by one route per method; so
    each method is tried against every route, as the router itself would.
    """
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    code = _STATUS_CODES.get(status, "http_error")
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(status).description
    headers = error.headers
    if status == 404:
        detail = "No resource at this path."
    elif status == 405:
        detail = "This path does not accept that method."
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return ProblemResponse(status=status, code=code, detail=detail, headers=headers)


def _field_name(location: Sequence[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = error.errors()
    if any(item.get("type") == "json_invalid" for item in errors):
        return ProblemResponse(
            status=400, code="malformed_json", detail="The request body is not valid JSON."
        )
    body_expected = any(tuple(item.get("loc", ()))[:1] == ("body",) for item in errors)
    whole_body_wrong = any(tuple(item.get("loc", ())) == ("body",) for item in errors)
    if whole_body_wrong and request.headers.get("content-type") and not _is_json(request):
        return ProblemResponse(
            status=415, code="unsupported_media_type", detail="Send the request body as application/json."
        )
    fields = [
        {
            "field": _field_name(item.get("loc", ())),
            "location": str(item["loc"][0]) if item.get("loc") else "body",
            "message": item.get("msg", "invalid"),
            "type": item.get("type", "invalid"),
        }
        for item in errors
    ]
    if body_expected and len(fields) == 1 and fields[0]["type"] == "missing" and fields[0]["field"] == "body":
        detail = "A JSON request body is required."
    else:
        detail = "Some fields are missing or invalid: " + ", ".join(sorted({f["field"] for f in fields}))
    return ProblemResponse(status=422, code="validation_error", detail=detail, errors=fields)


def _database_unavailable(_request: Request, error: Exception) -> Response:
    # The message of a driver error can quote SQL parameters; log only its class.
    log.error("database unavailable", extra={"error_type": type(error).__name__})
    return ProblemResponse(
        status=503,
        code="database_unavailable",
        detail="The database is not answering; try again shortly.",
        headers={"Retry-After": "2"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(CryptoError, _crypto_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_unavailable)


def internal_error_bytes() -> bytes:
    return problem_bytes(
        status=500, code="internal_error", detail="An unexpected error occurred; it has been logged."
    )


_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. `code` is stable and machine-readable.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["not_found", "validation_error", "rate_limited"]},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "On validation_error: the offending fields (never their values).",
            "items": {
                "type": "object",
                "required": ["field", "location", "message", "type"],
                "properties": {
                    "field": {"type": "string"},
                    "location": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe the error responses of an OpenAPI document as ``application/problem+json``.

    An error response a route describes with a body of its own keeps it: the
    RFC 6749 §5.2 errors of ``/oauth/*`` are ``application/json``, so stock
    OAuth clients understand them. Every operation's ``default`` is a problem
    (the edge's 405, 413 and 5xx answers).
    """
    problem = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status[0] in "45" and ("content" not in response or status == "422"):
                    response["content"] = problem
            if "422" in responses:
                responses["422"]["description"] = "Validation error: the offending fields are listed"
            responses["default"] = {"description": "Any other error", "content": problem}
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = _PROBLEM_SCHEMA
    return schema
