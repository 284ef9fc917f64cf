"""Requests the HTTP parser refuses, answered like every other refusal: a problem with a request id.

uvicorn answers a request it cannot parse (a malformed request line, a bad
header) by itself, before any ASGI layer sees it: a plain-text 400 with no
request id and none of the security headers. ``ProblemHttpToolsProtocol`` is
uvicorn's own httptools protocol with that one answer replaced by an RFC 9457
problem carrying a fresh ``X-Request-ID`` and the headers every answer carries,
and a log line with the same id, so an operator can match a caller's report
to the log. Nothing the caller sent is repeated, in the answer or the log.
"""

from __future__ import annotations

import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from privacy_service.api.middleware import SECURITY_HEADERS, new_request_id
from privacy_service.api.problems import problem_bytes
from privacy_service.core.logging import request_id_var

log = logging.getLogger("privacy_service.access")

BAD_REQUEST_CODE = "bad_request"


def malformed_request_answer(request_id: str) -> bytes:
    """The whole HTTP/1.1 answer to a request that could not be parsed; the connection then closes."""
    body = problem_bytes(
        status=400,
        code=BAD_REQUEST_CODE,
        detail="The HTTP request could not be parsed.",
        request_id=request_id,
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"),
        (b"x-request-id", request_id.encode("ascii")),
        *SECURITY_HEADERS,
    ]
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return b"HTTP/1.1 400 Bad Request\r\n" + head + b"\r\n" + body


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering an unparsable request with a problem and a request id."""

    def send_400_response(self, msg: str) -> None:
        request_id = new_request_id()
        token = request_id_var.set(request_id)
        try:
            log.warning("malformed HTTP request refused", extra={"status": 400})
        finally:
            request_id_var.reset(token)
        self.transport.write(malformed_request_answer(request_id))
        self.transport.close()
