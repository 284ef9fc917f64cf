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
import secrets
import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy_service.api.problems import PROBLEM_CONTENT_TYPE, internal_error_bytes, problem_bytes
from privacy_service.core.logging import request_id_var

access_log = logging.getLogger("privacy_service.access")
error_log = logging.getLogger("privacy_service.errors")

REQUEST_ID_HEADER = b"x-request-id"
# A caller's id is echoed only when it is short and tame, so it cannot inject into logs.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_WITH_HSTS = (*SECURITY_HEADERS, (b"strict-transport-security", b"max-age=63072000; includeSubDomains"))


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _with_headers(message: Message, extra: tuple[tuple[bytes, bytes], ...]) -> Message:
    """``message`` with the ``extra`` headers it does not already have (names of ``extra`` are lowercase)."""
    headers = list(message.get("headers", ()))
    present = {key.lower() for key, _ in headers}
    headers.extend(header for header in extra if header[0] not in present)
    return {**message, "headers": headers}


def new_request_id() -> str:
    """32 random hex digits: they only correlate log lines and answers, and grant nothing."""
    return secrets.token_hex(16)


class RefusalLogSampler:
    """Under a flood, one access-log line a second per path and refusal status, saying how many it stands for.

    A 429 or 503 is how the service sheds load; logging each one would spend
    the very CPU the shedding saves and let a flood fill the disk. The first
    refusal of each ``interval`` is logged with ``refusals_not_logged``, the
    number of the same refusals since the previous line; every other kind of
    answer is always logged. A refusal costs 4-5x the CPU with its own line
    (``benchmarks/README.md``, "caches.py").
    """

    STATUSES = frozenset({429, 503})

    def __init__(self, *, interval: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._monotonic = monotonic
        self._windows: dict[tuple[str, int], tuple[float, int]] = {}  # (path, status) -> (logged at, since)
        self._lock = threading.Lock()

    def should_log(self, path: str, status: int) -> int | None:
        """None to leave this answer out; else how many like it went unlogged since the last line."""
        if status not in self.STATUSES:
            return 0
        now = self._monotonic()
        with self._lock:
            logged_at, unlogged = self._windows.get((path, status), (None, 0))
            if logged_at is not None and now - logged_at < self._interval:
                self._windows[(path, status)] = (logged_at, unlogged + 1)
                return None
            self._windows[(path, status)] = (now, 0)
            return unlogged


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
    """nosniff, no-store, no referrer, no framing; HSTS only when the request came over TLS.

    A header the answer already has is left as it is: only public answers set their own
    ``Cache-Control`` (the published keys, the pages' versioned files in ``web/assets.py``), so
    everything else is ``no-store``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _WITH_HSTS if scope.get("scheme") == "https" else SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_headers(message, extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestIdMiddleware:
    """Echo or mint ``X-Request-ID``, put it in every log line, write the access log, catch the unexpected."""

    def __init__(self, app: ASGIApp, *, refusals: RefusalLogSampler | None = None) -> None:
        self.app = app
        self._refusals = refusals or RefusalLogSampler()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = (_header(scope, REQUEST_ID_HEADER) or b"").decode("latin-1")
        request_id = offered if _ACCEPTABLE_REQUEST_ID.fullmatch(offered) else new_request_id()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        id_header = ((b"x-request-id", request_id.encode()),)

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
                await send_problem(send, status=500, body=internal_error_bytes(), headers=list(id_header))
        finally:
            # The path only: query strings must carry no personal data, but never trust that.
            path = scope.get("path", "")
            unlogged = self._refusals.should_log(path, status)
            if unlogged is not None:
                fields = {
                    "method": scope.get("method"),
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
                if unlogged:
                    fields["refusals_not_logged"] = unlogged
                access_log.info("request", extra=fields)
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
