"""The HTTP edge: request ids, the access log, security headers and the body size limit.

Plain ASGI middleware (not ``BaseHTTPMiddleware``), so bodies stream through
untouched and an oversized upload is refused before it is read whole.
Outermost first: ``SecurityHeadersMiddleware`` → ``RequestIdMiddleware`` →
``BodySizeLimitMiddleware`` → ``LoginAdmissionMiddleware`` (``api/admission.py``)
→ the app; whatever any inner layer answers,
including the last-resort 500, carries the request id and security headers.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy_service.api.problems import PROBLEM_CONTENT_TYPE, internal_error_bytes, problem_bytes
from privacy_service.core.logging import request_id_var

access_log = logging.getLogger("privacy_service.access")
error_log = logging.getLogger("privacy_service.errors")

REQUEST_ID_HEADER = b"x-request-id"
# A caller's id is echoed only when it is short and tame, so it cannot inject into logs.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")

_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _with_headers(message: Message, extra: list[tuple[bytes, bytes]]) -> Message:
    present = {key.lower() for key, _ in message.get("headers", ())}
    headers = list(message.get("headers", ()))
    headers.extend((key, value) for key, value in extra if key not in present)
    return {**message, "headers": headers}


async def send_problem(send: Send, *, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """nosniff, no-store, no referrer, no framing; HSTS only when the request came over TLS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(_SECURITY_HEADERS)
        if scope.get("scheme") == "https":
            extra.append(_HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_headers(message, extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestIdMiddleware:
    """Echo or mint ``X-Request-ID``, put it in every log line, write the access log, catch the unexpected."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = (_header(scope, REQUEST_ID_HEADER) or b"").decode("latin-1")
        request_id = offered if _ACCEPTABLE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        id_header = [(b"x-request-id", request_id.encode())]

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = _with_headers(message, id_header)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error")
            if status == 0:
                status = 500
                await send_problem(send, status=500, body=internal_error_bytes(), headers=id_header)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    # The path only: query strings must carry no personal data, but never trust that.
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


class BodyTooLarge(Exception):
    """Raised into the app when the streamed body passes the limit."""


class BodySizeLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413: by Content-Length at once, or once a stream passes it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await send_problem(
                    send,
                    status=400,
                    body=problem_bytes(
                        status=400, code="bad_request", detail="Content-Length is not a number."
                    ),
                    headers=[(b"connection", b"close")],
                )
                return
            if too_large:
                await self._refuse(send)
                return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded:
                # Whatever the app made of the interrupted read, the answer is 413.
                if not response_started:
                    response_started = True
                    await self._refuse(send)
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = problem_bytes(
            status=413,
            code="payload_too_large",
            detail=f"The request body is larger than the limit of {self.max_bytes} bytes.",
            max_bytes=self.max_bytes,
        )
        # Close the connection: the rest of the oversized body is not read.
        await send_problem(send, status=413, body=body, headers=[(b"connection", b"close")])
