"""The real connector: a signed Standard Webhooks POST over one shared ``httpx.Client``.

What it promises, whatever the system does: it never follows a redirect (a
system must not bounce personal data elsewhere), never reads more than
``max_response_bytes`` of an answer, gives up after the delivery's timeout, and
turns every failure of the system or the network into ``Failed`` with a message
that carries no personal data, no secret and no URL.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from datetime import datetime
from types import TracebackType

import httpx

from privacy_service.connectors.completion import parse_answer
from privacy_service.connectors.delivery import Accepted, Delivery, DeliveryOutcome, Failed
from privacy_service.connectors.errors import InvalidCompletion, InvalidWebhookSecret
from privacy_service.connectors.standard_webhooks import webhook_headers

USER_AGENT = "privacy-service"
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
# RFC 9110 §15.5.9 Request Timeout, RFC 8470 §5.2 Too Early, RFC 6585 §4 Too Many Requests: try again later.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


class WebhookConnector:
    """Delivers to downstream systems over HTTP; safe to share between the worker's threads."""

    def __init__(
        self, *, http: httpx.Client | None = None, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    ) -> None:
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be positive")
        # A client handed in stays its owner's to close; one made here is closed by close().
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(follow_redirects=False)
        self._max_response_bytes = max_response_bytes

    def deliver(self, delivery: Delivery, *, now: datetime) -> DeliveryOutcome:
        """POST the payload, signed at ``now``; see ``Connector.deliver``.

        A payload that is not JSON or a naive ``now`` is the caller's bug, not the system's: it raises.
        """
        # Compact UTF-8 JSON; what is signed is exactly what is sent.
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        encoded = body.encode()
        try:
            signed = webhook_headers(
                secret=delivery.secret, webhook_id=delivery.webhook_id, timestamp=now, body=encoded
            )
        except InvalidWebhookSecret as exc:
            return Failed(error=f"the system's secret is unusable: {exc.detail}", retryable=False)
        headers = {
            **signed,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            # Answers are small JSON; asking for them uncompressed keeps the size limit a memory limit.
            "accept-encoding": "identity",
        }
        deadline = time.monotonic() + delivery.timeout_seconds
        timed_out = Failed(error=f"timed out after {delivery.timeout_seconds:g} s", retryable=True)
        try:
            with self._http.stream(
                "POST",
                delivery.url,
                content=encoded,
                headers=headers,
                timeout=httpx.Timeout(delivery.timeout_seconds),
                follow_redirects=False,
            ) as response:
                return self._outcome(response, delivery=delivery, deadline=deadline, timed_out=timed_out)
        except httpx.TimeoutException:
            return timed_out
        except httpx.ConnectError as exc:
            return Failed(error=_connect_failure(exc), retryable=True)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return Failed(error="the system's URL is not a usable http or https URL", retryable=False)
        except httpx.LocalProtocolError:
            return Failed(error="the request could not be formed as valid HTTP", retryable=False)
        except httpx.RemoteProtocolError:
            return Failed(error="the system closed the connection or broke the HTTP protocol", retryable=True)
        except httpx.TransportError as exc:
            return Failed(error=f"network error ({type(exc).__name__})", retryable=True)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> WebhookConnector:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _outcome(
        self, response: httpx.Response, *, delivery: Delivery, deadline: float, timed_out: Failed
    ) -> DeliveryOutcome:
        status = response.status_code
        if status >= 500 or status in RETRYABLE_CLIENT_ERRORS:
            return Failed(error=f"HTTP {status} from the system", retryable=True)
        if not delivery.expects_answer and 200 <= status < 300:
            return Accepted()  # a notice system took the message; what it answers is not read
        if 300 <= status < 400:
            return Failed(error=f"HTTP {status} from the system; redirects are not followed", retryable=False)
        if status not in (200, 202):
            suffix = "; expected 200 or 202" if status < 300 else ""
            return Failed(error=f"HTTP {status} from the system{suffix}", retryable=False)

        limit = self._max_response_bytes
        too_large = Failed(error=f"the answer is larger than {limit} bytes", retryable=False)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return too_large
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                return too_large
            if time.monotonic() > deadline:
                return timed_out  # a system dripping its answer must not hold a worker thread forever
            chunks.append(chunk)

        if status == 202:
            return Accepted()  # 202 says it all; the body ({"status": "accepted"}) may be empty
        try:
            return parse_answer(b"".join(chunks))
        except InvalidCompletion as exc:
            return Failed(error=exc.detail, retryable=False)


def _connect_failure(exc: httpx.ConnectError) -> str:
    """Name the cause from the exception chain; the messages themselves may name hosts, so are not copied."""
    cause: BaseException | None = exc
    for _ in range(8):  # a chain is short; the bound guards against a cycle
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "the system's host name does not resolve"
        if isinstance(cause, ssl.SSLError):
            return "the TLS handshake with the system failed"
        cause = cause.__cause__ or cause.__context__
    return "could not connect to the system"
